package io.replica.testkit.contract;

import static io.replica.testkit.contract.ContractSupport.INVALID_NAMES;
import static io.replica.testkit.contract.ContractSupport.MIB;
import static io.replica.testkit.contract.ContractSupport.assertAllocationCoversData;
import static io.replica.testkit.contract.ContractSupport.assertSameBytes;
import static io.replica.testkit.contract.ContractSupport.assertZeros;
import static io.replica.testkit.contract.ContractSupport.describe;
import static io.replica.testkit.contract.ContractSupport.pattern;
import static io.replica.testkit.contract.ContractSupport.readAll;
import static io.replica.testkit.contract.ContractSupport.write;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.replica.spi.storage.DiskSpec;
import io.replica.spi.storage.DiskStore;
import io.replica.spi.storage.StorageNames;
import io.replica.spi.storage.VirtualDisk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.ReadOnlyFileSystemException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.function.Executable;

/**
 * The conformance kit for {@link DiskStore}: checks the rules D2.x of {@code docs/spi-rules.md}
 * (D2.1 to D2.9, D2.18, D2.19 and D2.21; the others were withdrawn with the calls they were
 * about), so that the engine can keep replica disks in any store alike.
 *
 * <p>Extend it in your test tree and implement {@link #createStore()}:
 *
 * <pre>{@code
 * class VhdxDiskStoreContractTest extends DiskStoreContract<VhdxDiskStore> {
 *   protected VhdxDiskStore createStore() throws IOException {
 *     return new VhdxDiskStore(Files.createTempDirectory("store"));
 *   }
 * }
 * }</pre>
 *
 * <p>The store is created lazily, on the first use inside each test, so it may depend on state
 * that the subclass prepares in its own {@code BeforeEach} methods. After each test the kit closes
 * every disk handle it opened, then the store (D2.21 closes it earlier, so a second close must do
 * nothing). A store whose medium can be crashed in a test overrides {@link #crash}; otherwise
 * D2.19 shows as skipped. Test methods are final.
 *
 * <p>The disks a store hands out are {@link VirtualDisk}s and should also pass {@link
 * VirtualDiskContract}: implement its {@code createDisk} with {@code store.create(...)} and its
 * {@code openReadOnly} with {@code store.open(name, true)}.
 *
 * @param <S> the store implementation under test
 */
@ExtendWith(RuleIdInFailures.class)
public abstract class DiskStoreContract<S extends DiskStore> {

  private static final DiskSpec SPEC = new DiskSpec(4L * MIB + 5 * 512, 512, 4096, false);
  private static final DiskSpec SPEC_4K = new DiskSpec(4L * MIB + 5 * 4096, 4096, 4096, false);

  private final ContractSupport.Opened opened = new ContractSupport.Opened();
  /** The store under test on top; below it, stores abandoned by a crash, closed after the test. */
  private final Deque<S> stores = new ArrayDeque<>();

  /** For subclasses; the kit keeps no state between tests. */
  protected DiskStoreContract() {}

  /**
   * Creates a fresh, empty store that no other test shares. Called at most once per test; the kit
   * closes it after the test.
   *
   * @return a new store holding no disks
   * @throws IOException if the medium fails; the test fails with it
   */
  protected abstract S createStore() throws IOException;

  /**
   * Simulates a crash of the host under {@code store}, for rule D2.19, and returns the store as the
   * host sees it after restarting: the same object or a new store on the crashed medium. What was
   * flushed must survive; what was written and not flushed may survive, be lost, or survive in
   * part, sector by sector. Override it if the medium can be crashed in a test (the in-memory store
   * can, and a store of files can be restarted on a copy of its folder taken while its handles are
   * still open); by default D2.19 shows as skipped.
   *
   * <p>The kit calls it with disk handles open and writes not flushed, and afterwards uses those
   * handles only to close them. It closes the returned store, and {@code store} too if it differs,
   * after the test.
   *
   * @param store the store under test, with handles open
   * @return the store after the restart, or empty if the kit cannot crash this store
   * @throws IOException if the medium fails; the test fails with it
   */
  protected Optional<S> crash(S store) throws IOException {
    return Optional.empty();
  }

  /**
   * Closes every handle the test left open, newest first, then the store (and any store a crash
   * left behind), so that tests never leak handles or media into each other.
   *
   * @throws Exception the first failure to close, with later ones suppressed
   */
  @AfterEach
  public final void closeOpenedDisksAndStore() throws Exception {
    Exception first = null;
    try {
      opened.closeAll();
    } catch (Exception e) {
      first = e;
    }
    ContractSupport.closeEach(stores, first);
  }

  /** D2.1: create hands out an open, writable, zeroed disk of the spec that then exists. */
  @Test
  public final void required_D2_1_createdDiskIsEmptyWritableAndExists() throws IOException {
    for (DiskSpec spec : List.of(SPEC, SPEC_4K)) {
      String name = "vm-1/disks/d-" + spec.logicalSectorSizeBytes();
      String where = "for '" + name + "' " + describe(spec);
      VirtualDisk disk = create(name, spec);
      assertFalse(disk.isReadOnly(), "D2.1: create must return a writable handle " + where);
      assertEquals(
          spec.sizeBytes(), disk.sizeBytes(), "D2.1: the disk must have the spec's size " + where);
      assertEquals(
          spec.logicalSectorSizeBytes(),
          disk.logicalSectorSizeBytes(),
          "D2.1: the disk must have the spec's sector size " + where);
      assertZeros(
          "D2.1: a created disk must read as zeros " + where,
          readAll(disk), 0, (int) spec.sizeBytes());
      assertTrue(store().exists(name), "D2.1: exists must be true after create " + where);
    }
  }

  /** D2.2: create of an existing name throws FileAlreadyExistsException and keeps the disk. */
  @Test
  public final void required_D2_2_createOfAnExistingNameFailsAndKeepsTheDisk()
      throws IOException {
    String name = "vm-1/disks/a";
    VirtualDisk disk = create(name, SPEC);
    byte[] data = pattern(21, 8 * 512);
    write(disk, MIB, data);
    disk.flush();
    assertThrows(
        FileAlreadyExistsException.class,
        () -> opened.add(store().create(name, SPEC_4K)),
        "D2.2: create of the existing disk '" + name + "' must throw FileAlreadyExistsException");
    assertSameBytes(
        "D2.2: a refused create must not change the open disk '" + name + "'",
        MIB, data, ContractSupport.read(disk, MIB, data.length));
    opened.close(disk);
    VirtualDisk reopened = open(name, true);
    assertEquals(
        SPEC.logicalSectorSizeBytes(), reopened.logicalSectorSizeBytes(),
        "D2.2: a refused create must not change the disk's geometry");
    assertEquals(
        SPEC.sizeBytes(), reopened.sizeBytes(),
        "D2.2: a refused create must not change the disk's size");
    assertSameBytes(
        "D2.2: a refused create must not change the disk's content",
        MIB, data, ContractSupport.read(reopened, MIB, data.length));
  }

  /** D2.3: names that StorageNames.check rejects are refused by every call. */
  @Test
  public final void required_D2_3_invalidNamesAreRejected() throws IOException {
    for (String bad : INVALID_NAMES) {
      assertThrows(
          IllegalArgumentException.class,
          () -> StorageNames.check(bad),
          "kit error: StorageNames.check no longer rejects '" + bad + "'");
      String refused = " of the invalid name '" + bad + "' must throw IllegalArgumentException";
      rejects(() -> opened.add(store().create(bad, SPEC)), "D2.3: create" + refused);
      rejects(() -> opened.add(store().open(bad, false)), "D2.3: open" + refused);
      rejects(() -> opened.add(store().open(bad, true)), "D2.3: read-only open" + refused);
      rejects(() -> store().exists(bad), "D2.3: exists" + refused);
      rejects(() -> store().delete(bad), "D2.3: delete" + refused);
    }
  }

  /** D2.4: open and delete of a missing disk throw NoSuchFileException; exists says false. */
  @Test
  public final void required_D2_4_missingDisksAreReported() throws IOException {
    String name = "vm-1/disks/missing";
    assertThrows(
        NoSuchFileException.class,
        () -> opened.add(store().open(name, false)),
        "D2.4: open of the missing disk '" + name + "' must throw NoSuchFileException");
    assertThrows(
        NoSuchFileException.class,
        () -> opened.add(store().open(name, true)),
        "D2.4: read-only open of the missing disk '" + name + "' must throw NoSuchFileException");
    assertThrows(
        NoSuchFileException.class,
        () -> store().delete(name),
        "D2.4: delete of the missing disk '" + name + "' must throw NoSuchFileException");
    assertFalse(
        store().exists(name),
        "D2.4: exists of a missing disk must be false, also after open and delete of it");
    String deleted = "vm-1/disks/deleted";
    opened.close(create(deleted, SPEC));
    store().delete(deleted);
    assertThrows(
        NoSuchFileException.class,
        () -> opened.add(store().open(deleted, true)),
        "D2.4: open of the deleted disk '" + deleted + "' must throw NoSuchFileException");
    assertThrows(
        NoSuchFileException.class,
        () -> store().delete(deleted),
        "D2.4: a second delete of '" + deleted + "' must throw NoSuchFileException");
  }

  /** D2.5: what was written and flushed is there after close and reopen, in both modes. */
  @Test
  public final void required_D2_5_reopenedDiskShowsFlushedWrites() throws IOException {
    for (DiskSpec spec : List.of(SPEC, SPEC_4K)) {
      String name = "vm-1/disks/r-" + spec.logicalSectorSizeBytes();
      String where = "for '" + name + "' " + describe(spec);
      int s = spec.logicalSectorSizeBytes();
      int size = (int) spec.sizeBytes();
      byte[] model = new byte[size];
      VirtualDisk disk = create(name, spec);
      int[][] writes = {{0, 4 * s}, {MIB - s, 2 * s}, {3 * MIB, 64 * 1024}, {size - s, s}};
      for (int[] w : writes) {
        byte[] data = pattern(22 + w[0], w[1]);
        write(disk, w[0], data);
        System.arraycopy(data, 0, model, w[0], w[1]);
      }
      disk.flush();
      opened.close(disk);
      for (boolean readOnly : new boolean[] {false, true}) {
        String mode = (readOnly ? "read-only " : "writable ") + where;
        VirtualDisk reopened = open(name, readOnly);
        assertEquals(
            spec.sizeBytes(), reopened.sizeBytes(),
            "D2.5: a reopened disk must keep its size, " + mode);
        assertEquals(
            s, reopened.logicalSectorSizeBytes(),
            "D2.5: a reopened disk must keep its sector size, " + mode);
        assertSameBytes(
            "D2.5: a reopened disk must read what was written and flushed, " + mode,
            0, model, readAll(reopened));
        opened.close(reopened);
      }
    }
  }

  /** D2.6: open(name, true) refuses writes; open(name, false) takes them. */
  @Test
  public final void required_D2_6_readOnlyOpenIsHonoured() throws IOException {
    String name = "vm-1/disks/ro";
    VirtualDisk disk = create(name, SPEC);
    byte[] data = pattern(23, 4 * 512);
    write(disk, 512, data);
    disk.flush();
    opened.close(disk);
    VirtualDisk readOnly = open(name, true);
    assertTrue(
        readOnly.isReadOnly(), "D2.6: open(name, true) must return a handle that is read-only");
    assertThrows(
        ReadOnlyFileSystemException.class,
        () -> readOnly.write(512, ByteBuffer.wrap(pattern(24, 512))),
        "D2.6: a write through open(name, true) must throw ReadOnlyFileSystemException");
    assertSameBytes(
        "D2.6: a refused read-only write must change nothing",
        512, data, ContractSupport.read(readOnly, 512, data.length));
    opened.close(readOnly);
    VirtualDisk writable = open(name, false);
    assertFalse(
        writable.isReadOnly(), "D2.6: open(name, false) must return a writable handle");
    byte[] more = pattern(25, 512);
    write(writable, 512, more);
    assertSameBytes(
        "D2.6: a write through open(name, false) must land",
        512, more, ContractSupport.read(writable, 512, 512));
  }

  /** D2.7: a read-only handle sees what a writable handle of the same disk wrote and flushed. */
  @Test
  public final void required_D2_7_handlesOfOneDiskSeeTheSameBytes() throws IOException {
    String name = "vm-1/disks/shared";
    VirtualDisk writer = create(name, SPEC);
    byte[] first = pattern(26, 8 * 512);
    write(writer, 0, first);
    writer.flush();
    VirtualDisk reader = open(name, true);
    assertSameBytes(
        "D2.7: a second handle must read what the first wrote and flushed before it was opened",
        0, first, ContractSupport.read(reader, 0, first.length));
    byte[] second = pattern(27, 8 * 512);
    write(writer, 2L * MIB, second);
    writer.flush();
    assertSameBytes(
        "D2.7: a second handle must read what the first wrote and flushed after it was opened",
        2L * MIB, second, ContractSupport.read(reader, 2L * MIB, second.length));
  }

  /** D2.8: a deleted disk is gone, and its name makes a fresh, zeroed disk again. */
  @Test
  public final void required_D2_8_deleteRemovesTheDisk() throws IOException {
    String name = "vm-1/disks/gone";
    VirtualDisk disk = create(name, SPEC);
    write(disk, 0, pattern(28, 8 * 512));
    disk.flush();
    opened.close(disk);
    store().delete(name);
    assertFalse(store().exists(name), "D2.8: exists must be false after delete");
    VirtualDisk again = create(name, SPEC);
    assertZeros(
        "D2.8: a disk created under a deleted disk's name must read as zeros",
        readAll(again), 0, (int) SPEC.sizeBytes());
  }

  /** D2.9: delete of a disk with an open handle throws FileSystemException and keeps it. */
  @Test
  public final void required_D2_9_openDiskCannotBeDeleted() throws IOException {
    String name = "vm-1/disks/busy";
    VirtualDisk disk = create(name, SPEC);
    byte[] data = pattern(29, 8 * 512);
    write(disk, 0, data);
    disk.flush();
    assertDeleteRefused(name, disk, data, "writable");
    opened.close(disk);
    VirtualDisk reader = open(name, true);
    assertDeleteRefused(name, reader, data, "read-only");
    opened.close(reader);
    store().delete(name);
    assertFalse(store().exists(name), "D2.9: once every handle is closed, delete must succeed");
  }

  private void assertDeleteRefused(String name, VirtualDisk handle, byte[] data, String handleKind)
      throws IOException {
    assertThrows(
        FileSystemException.class,
        () -> store().delete(name),
        "D2.9: delete of a disk with an open " + handleKind + " handle must throw FileSystemException");
    assertTrue(store().exists(name), "D2.9: a refused delete must keep the disk");
    assertSameBytes(
        "D2.9: a refused delete must keep the disk's content",
        0, data, ContractSupport.read(handle, 0, data.length));
  }

  /**
   * D2.18: a disk opened again after writes, a flush and a close reports an allocation that holds
   * every byte it reads as non-zero.
   */
  @Test
  public final void required_D2_18_reopenedDiskReportsItsAllocation() throws IOException {
    for (DiskSpec spec : List.of(SPEC, SPEC_4K)) {
      String name = "vm-1/disks/a-" + spec.logicalSectorSizeBytes();
      String where = "for '" + name + "' " + describe(spec);
      VirtualDisk disk = create(name, spec);
      writeSpread(disk, 60);
      disk.flush();
      opened.close(disk);
      for (boolean readOnly : new boolean[] {false, true}) {
        VirtualDisk reopened = open(name, readOnly);
        assertAllocationCoversData(
            "D2.18", reopened, "after reopening " + (readOnly ? "read-only " : "writable ") + where);
        opened.close(reopened);
      }
      VirtualDisk again = open(name, false);
      write(again, 2L * MIB + 8L * spec.logicalSectorSizeBytes(), pattern(65, 4096));
      again.flush();
      opened.close(again);
      VirtualDisk last = open(name, true);
      assertAllocationCoversData(
          "D2.18", last, "after a second session of writes and a reopen " + where);
      opened.close(last);
    }
  }

  /**
   * D2.19: after a crash, a disk reads what was flushed before it, and its allocation holds every
   * byte it reads as non-zero, whatever became of the writes that were not flushed.
   */
  @Test
  public final void optional_D2_19_allocationSurvivesACrash() throws IOException {
    S before = store();
    int size = (int) SPEC.sizeBytes();
    int s = SPEC.logicalSectorSizeBytes();
    List<String> names = List.of("vm-1/disks/c-flushed", "vm-1/disks/c-mixed");
    byte[][] flushed = new byte[names.size()][];
    for (int i = 0; i < names.size(); i++) {
      VirtualDisk disk = create(names.get(i), SPEC);
      byte[] model = new byte[size];
      int[][] writes = {{0, 8 * s}, {MIB - 4 * s, 8 * s}, {3 * MIB, 64 * 1024}, {size - s, s}};
      for (int[] w : writes) {
        byte[] data = pattern(70 + i * 10L + w[0], w[1]);
        write(disk, w[0], data);
        System.arraycopy(data, 0, model, w[0], w[1]);
      }
      disk.flush();
      flushed[i] = model;
      if (i == 1) {
        // Not flushed: into a new block, and into a block the flushed writes allocated.
        write(disk, 2L * MIB, pattern(90, 64 * 1024));
        write(disk, 3L * MIB + 64 * 1024, pattern(91, 8 * s));
      }
    }
    Optional<S> next = crash(before);
    assumeTrue(
        next != null && next.isPresent(),
        "D2.19 not checked: override crash(store) to crash the store's medium and restart it");
    if (next.get() != before) {
      stores.push(next.get());
    }
    for (int i = 0; i < names.size(); i++) {
      String name = names.get(i);
      String where = "for '" + name + "' " + describe(SPEC) + " after a crash";
      // Writable first (a store may finish its crash recovery there), both open at once so that
      // only the crash is between the writes and what is checked, not a close.
      List<VirtualDisk> handles = new ArrayList<>();
      for (boolean readOnly : new boolean[] {false, true}) {
        String mode = (readOnly ? "read-only, " : "writable, ") + where;
        VirtualDisk disk = open(name, readOnly);
        handles.add(disk);
        byte[] content = readAll(disk);
        byte[] expected = flushed[i].clone();
        if (i == 1) {
          // Unflushed writes may be there or not, in whole or by sector: take what is read.
          System.arraycopy(content, 2 * MIB, expected, 2 * MIB, 64 * 1024);
          System.arraycopy(content, 3 * MIB + 64 * 1024, expected, 3 * MIB + 64 * 1024, 8 * s);
        }
        assertSameBytes(
            "D2.19: a disk must read what was flushed before a crash, and zeros where nothing"
                + " was written, " + mode,
            0, expected, content);
        assertAllocationCoversData("D2.19", disk, mode);
      }
      for (VirtualDisk disk : handles) {
        opened.close(disk);
      }
    }
  }

  /**
   * D2.21: closing the store ends every handle it handed out, whether written, flushed or only
   * read: their I/O calls throw ClosedChannelException (also where a read would find only zeros),
   * their close still succeeds, and the store refuses every further call but a second close.
   */
  @Test
  public final void required_D2_21_closeEndsTheStoreAndEveryHandle() throws IOException {
    S closing = store();
    String flushed = "vm-1/disks/flushed";
    String dirty = "vm-1/disks/dirty";
    VirtualDisk writer = create(flushed, SPEC);
    write(writer, 0, pattern(80, 8 * 512));
    writer.flush();
    VirtualDisk reader = open(flushed, true);
    VirtualDisk unflushed = create(dirty, SPEC_4K);
    write(unflushed, MIB, pattern(81, 4096));
    closing.close();
    List<VirtualDisk> handles = List.of(writer, reader, unflushed);
    List<String> kinds =
        List.of("writable handle of '" + flushed + "'", "read-only handle of '" + flushed + "'",
            "handle of '" + dirty + "' with unflushed writes");
    for (int i = 0; i < handles.size(); i++) {
      VirtualDisk disk = handles.get(i);
      String where = " on a " + kinds.get(i) + " after the store was closed";
      int s = disk.logicalSectorSizeBytes();
      // Offset 0 holds data; 2 MiB was never written, so a store must not answer it with zeros.
      for (long at : new long[] {0, 2L * MIB}) {
        refusedAsClosed(
            () -> disk.read(at, ByteBuffer.allocate(s)),
            "D2.21: read at offset " + at + where);
      }
      if (!disk.isReadOnly()) {
        refusedAsClosed(
            () -> disk.write(0, ByteBuffer.wrap(pattern(82, s))), "D2.21: write" + where);
      }
      refusedAsClosed(disk::flush, "D2.21: flush" + where);
      refusedAsClosed(disk::allocatedRanges, "D2.21: allocatedRanges" + where);
      if (!disk.isReadOnly()) {
        Throwable trim = assertThrows(
            Throwable.class,
            () -> disk.trim(0, s),
            "D2.21: trim" + where + " must throw ClosedChannelException");
        assertTrue(
            trim instanceof ClosedChannelException
                || trim instanceof UnsupportedOperationException,
            "D2.21: trim" + where + " must throw ClosedChannelException (or"
                + " UnsupportedOperationException if the disk cannot trim), not " + trim);
      }
      assertDoesNotThrow(
          () -> opened.close(disk),
          "D2.21: close of a " + kinds.get(i) + " after the store was closed must succeed");
    }
    String notOpen = " on a closed store must throw IllegalStateException";
    assertThrows(
        IllegalStateException.class,
        () -> opened.add(closing.create("vm-1/disks/new", SPEC)),
        "D2.21: create" + notOpen);
    assertThrows(
        IllegalStateException.class,
        () -> opened.add(closing.open(flushed, true)),
        "D2.21: open" + notOpen);
    assertThrows(
        IllegalStateException.class, () -> closing.exists(flushed), "D2.21: exists" + notOpen);
    assertThrows(
        IllegalStateException.class, () -> closing.delete(flushed), "D2.21: delete" + notOpen);
    assertDoesNotThrow(
        closing::close, "D2.21: a second close of a store must do nothing and throw nothing");
  }

  private static void refusedAsClosed(Executable call, String what) {
    assertThrows(
        ClosedChannelException.class, call, what + " must throw ClosedChannelException");
  }

  /** Writes at the start, across 1 MiB, in a 64 KiB block, and in the last sector. */
  private static void writeSpread(VirtualDisk disk, long seed) throws IOException {
    int s = disk.logicalSectorSizeBytes();
    long size = disk.sizeBytes();
    write(disk, 0, pattern(seed, 4 * s));
    write(disk, MIB - 2L * s, pattern(seed + 1, 4 * s));
    write(disk, 3L * MIB, pattern(seed + 2, 64 * 1024));
    write(disk, size - s, pattern(seed + 3, s));
  }

  /** The store under test, created on first use in each test; after a crash, the restarted one. */
  private S store() throws IOException {
    if (stores.isEmpty()) {
      stores.push(Objects.requireNonNull(createStore(), "createStore returned null"));
    }
    return stores.peek();
  }

  private VirtualDisk create(String name, DiskSpec spec) throws IOException {
    return opened.add(
        Objects.requireNonNull(store().create(name, spec), "create returned null for " + name));
  }

  private VirtualDisk open(String name, boolean readOnly) throws IOException {
    return opened.add(
        Objects.requireNonNull(store().open(name, readOnly), "open returned null for " + name));
  }

  private static void rejects(Executable call, String message) {
    assertThrows(IllegalArgumentException.class, call, message);
  }
}
