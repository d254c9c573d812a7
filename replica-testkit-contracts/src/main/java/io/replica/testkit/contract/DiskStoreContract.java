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
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.replica.spi.storage.DiskSpec;
import io.replica.spi.storage.DiskStore;
import io.replica.spi.storage.StorageNames;
import io.replica.spi.storage.VirtualDisk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.ReadOnlyFileSystemException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.function.Executable;

/**
 * The conformance kit for {@link DiskStore}: checks rules D2.1 to D2.20 of {@code
 * docs/spi-rules.md}, so that the engine can keep replica disks, failover children and their
 * merges in any store alike.
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
 * every disk handle it opened, then the store. A store without differencing disks says so through
 * {@link #supportsDifferencingDisks()}; D2.12 to D2.17 and D2.20 then show as skipped and D2.11
 * checks that it refuses children cleanly. A store whose medium can be crashed in a test overrides
 * {@link #crash}; otherwise D2.19 shows as skipped. Test methods are final.
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
   * Whether the store implements {@link DiskStore#createChild} and {@link
   * DiskStore#mergeIntoParent}. Override it to return {@code false} only if it really does not:
   * D2.12 to D2.17 and D2.20 are then skipped with that reason, and D2.11 checks that both calls throw
   * {@link UnsupportedOperationException} and change nothing.
   *
   * @return true (the default) if the store has differencing disks
   */
  protected boolean supportsDifferencingDisks() {
    return true;
  }

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

  /** D2.1: create hands out an open, writable, zeroed disk of the spec, listed under its name. */
  @Test
  public final void required_D2_1_createdDiskIsEmptyWritableAndListed() throws IOException {
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
      assertTrue(store().list().contains(name), "D2.1: list must contain a created disk " + where);
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
    assertEquals(
        List.of(name), store().list(), "D2.2: a refused create must not add a second entry");
  }

  /** D2.3: names that StorageNames.check rejects are refused by every call, creating nothing. */
  @Test
  public final void required_D2_3_invalidNamesAreRejectedAndNothingIsCreated()
      throws IOException {
    List<String> expected = new ArrayList<>();
    if (supportsDifferencingDisks()) {
      opened.close(create("parent", SPEC));
      expected.add("parent");
    }
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
      if (supportsDifferencingDisks()) {
        rejects(
            () -> opened.add(store().createChild(bad, "parent")),
            "D2.3: createChild with child name" + refused.replace(" of the", " and the"));
        rejects(
            () -> opened.add(store().createChild("child", bad)),
            "D2.3: createChild with parent name" + refused.replace(" of the", " and the"));
        rejects(() -> store().mergeIntoParent(bad), "D2.3: mergeIntoParent" + refused);
      }
    }
    assertEquals(
        expected, store().list(), "D2.3: refused names must not create anything in the store");
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
    assertFalse(store().exists(name), "D2.4: exists of a missing disk must be false");
    assertEquals(
        List.of(), store().list(), "D2.4: calls on a missing disk must not create anything");
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
    assertFalse(store().list().contains(name), "D2.8: list must not contain a deleted disk");
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

  /** D2.10: list holds each existing disk once, in String order of the whole name. */
  @Test
  public final void required_D2_10_listIsExactAndSorted() throws IOException {
    assertEquals(List.of(), store().list(), "D2.10: a fresh store must list no disks");
    List<String> names =
        List.of("vm-2/disks/b", "vm-10/a", "vm-1/a", "vm-1.x", "vm-1-b", "a", "vm-2/disks/a_1");
    for (String name : names) {
      opened.close(create(name, SPEC));
    }
    List<String> sorted = new ArrayList<>(names);
    Collections.sort(sorted);
    assertEquals(
        sorted, store().list(),
        "D2.10: list must hold every disk once, sorted by String.compareTo of the whole name");
    store().delete("vm-1.x");
    sorted.remove("vm-1.x");
    assertEquals(sorted, store().list(), "D2.10: list must not hold a deleted disk");
  }

  /** D2.11: a store that declares no differencing disks refuses them and changes nothing. */
  @Test
  public final void optional_D2_11_storeWithoutDifferencingRefusesChildren() throws IOException {
    assumeFalse(
        supportsDifferencingDisks(),
        "D2.11 applies only to stores that declare supportsDifferencingDisks() == false");
    VirtualDisk parent = create("parent", SPEC);
    byte[] data = pattern(30, 8 * 512);
    write(parent, 0, data);
    parent.flush();
    opened.close(parent);
    assertThrows(
        UnsupportedOperationException.class,
        () -> opened.add(store().createChild("child", "parent")),
        "D2.11: createChild of a store without differencing disks must throw"
            + " UnsupportedOperationException");
    assertThrows(
        UnsupportedOperationException.class,
        () -> store().mergeIntoParent("parent"),
        "D2.11: mergeIntoParent of a store without differencing disks must throw"
            + " UnsupportedOperationException");
    assertEquals(List.of("parent"), store().list(), "D2.11: a refused child must not be created");
    assertFalse(store().exists("child"), "D2.11: a refused child must not exist");
    assertSameBytes(
        "D2.11: refused differencing calls must not change the parent",
        0, data, ContractSupport.read(open("parent", true), 0, data.length));
  }

  /** D2.12: a child starts as an exact, writable image of its parent. */
  @Test
  public final void optional_D2_12_childReadsAsItsParent() throws IOException {
    assumeDifferencing("D2.12");
    for (DiskSpec spec : List.of(SPEC, SPEC_4K)) {
      String parentName = "vm-1/disks/p-" + spec.logicalSectorSizeBytes();
      String childName = "vm-1/failover/c-" + spec.logicalSectorSizeBytes();
      String where = describe(spec);
      byte[] parentBytes = parentWithData(parentName, spec);
      VirtualDisk child = createChild(childName, parentName);
      assertFalse(child.isReadOnly(), "D2.12: createChild must return a writable handle " + where);
      assertEquals(
          spec.sizeBytes(), child.sizeBytes(),
          "D2.12: a child must have its parent's size " + where);
      assertEquals(
          spec.logicalSectorSizeBytes(), child.logicalSectorSizeBytes(),
          "D2.12: a child must have its parent's sector size " + where);
      assertSameBytes(
          "D2.12: a new child must read exactly as its parent " + where,
          0, parentBytes, readAll(child));
      assertTrue(store().exists(childName), "D2.12: exists must be true for a child " + where);
      assertTrue(
          store().list().containsAll(List.of(parentName, childName)),
          "D2.12: list must contain the parent and the child " + where);
    }
  }

  /** D2.13: writes to a child are read back from it and never reach the parent. */
  @Test
  public final void optional_D2_13_childWritesDoNotReachTheParent() throws IOException {
    assumeDifferencing("D2.13");
    byte[] parentBytes = parentWithData("parent", SPEC);
    VirtualDisk child = createChild("child", "parent");
    byte[] expected = writeToChild(child);
    assertSameBytes(
        "D2.13: a child must read its writes over its parent's bytes",
        0, expected, readAll(child));
    child.flush();
    opened.close(child);
    assertSameBytes(
        "D2.13: writes to a child must not reach its parent",
        0, parentBytes, readAll(open("parent", true)));
  }

  /** D2.14: a closed and reopened child still reads as its parent overlaid with its writes. */
  @Test
  public final void optional_D2_14_childKeepsItsWritesAcrossReopen() throws IOException {
    assumeDifferencing("D2.14");
    byte[] expected = parentWithWrittenChild();
    for (boolean readOnly : new boolean[] {false, true}) {
      VirtualDisk reopened = open("child", readOnly);
      assertSameBytes(
          "D2.14: a reopened " + (readOnly ? "read-only" : "writable")
              + " child must read as its parent overlaid with its writes",
          0, expected, readAll(reopened));
      opened.close(reopened);
    }
  }

  /** D2.15: delete of a parent that has a child throws FileSystemException and keeps both. */
  @Test
  public final void optional_D2_15_parentWithAChildCannotBeDeleted() throws IOException {
    assumeDifferencing("D2.15");
    parentWithWrittenChild();
    byte[] parentBytes = contentOf("parent");
    assertThrows(
        FileSystemException.class,
        () -> store().delete("parent"),
        "D2.15: delete of a parent that has a child must throw FileSystemException");
    assertTrue(store().exists("parent"), "D2.15: a refused delete must keep the parent");
    assertTrue(store().exists("child"), "D2.15: a refused delete must keep the child");
    assertSameBytes(
        "D2.15: a refused delete must keep the parent's content",
        0, parentBytes, readAll(open("parent", true)));
  }

  /** D2.16: merge leaves the parent reading as the child did, and removes the child. */
  @Test
  public final void optional_D2_16_mergeWritesChildIntoParentAndDeletesChild()
      throws IOException {
    assumeDifferencing("D2.16");
    byte[] expected = parentWithWrittenChild();
    store().mergeIntoParent("child");
    assertFalse(store().exists("child"), "D2.16: after merge the child must not exist");
    assertEquals(
        List.of("parent"), store().list(), "D2.16: after merge only the parent must be listed");
    VirtualDisk parent = open("parent", true);
    assertSameBytes(
        "D2.16: after merge the parent must read exactly as the child did",
        0, expected, readAll(parent));
    opened.close(parent);
    store().delete("parent");
    assertFalse(
        store().exists("parent"), "D2.16: after merge the parent must be deletable");
  }

  /** D2.17: a dropped child leaves its parent as it was, writable and deletable. */
  @Test
  public final void optional_D2_17_deletingAChildLeavesTheParentIntact() throws IOException {
    assumeDifferencing("D2.17");
    parentWithWrittenChild();
    byte[] parentBytes = contentOf("parent");
    store().delete("child");
    assertFalse(store().exists("child"), "D2.17: a deleted child must not exist");
    VirtualDisk parent =
        assertDoesNotThrow(
            () -> open("parent", false),
            "D2.17: a parent whose child was deleted must open for writing");
    assertSameBytes(
        "D2.17: deleting a child must leave its parent as it was before the delete",
        0, parentBytes, readAll(parent));
    byte[] more = pattern(31, 8 * 512);
    write(parent, 0, more);
    assertSameBytes(
        "D2.17: a parent whose child was deleted must take writes again",
        0, more, ContractSupport.read(parent, 0, more.length));
    opened.close(parent);
    assertDoesNotThrow(
        () -> store().delete("parent"),
        "D2.17: a parent whose child was deleted must be deletable");
    assertFalse(
        store().exists("parent"), "D2.17: a parent whose child was deleted must be deletable");
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
   * D2.20: a child's allocation holds every byte that reads as non-zero through it, its parent's
   * included: when it is created, after its own writes, and after it is opened again.
   */
  @Test
  public final void optional_D2_20_childAllocationCoversItsParentsData() throws IOException {
    assumeDifferencing("D2.20");
    for (DiskSpec spec : List.of(SPEC, SPEC_4K)) {
      String parentName = "vm-1/disks/ap-" + spec.logicalSectorSizeBytes();
      String childName = "vm-1/failover/ac-" + spec.logicalSectorSizeBytes();
      String where = "of the child '" + childName + "' " + describe(spec);
      parentWithData(parentName, spec);
      VirtualDisk child = createChild(childName, parentName);
      assertAllocationCoversData("D2.20", child, "right after createChild " + where);
      writeToChild(child);
      assertAllocationCoversData("D2.20", child, "after writes to the child " + where);
      child.flush();
      opened.close(child);
      for (boolean readOnly : new boolean[] {false, true}) {
        VirtualDisk reopened = open(childName, readOnly);
        assertAllocationCoversData(
            "D2.20", reopened,
            "after reopening " + (readOnly ? "read-only " : "writable ") + where);
        opened.close(reopened);
      }
    }
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

  private VirtualDisk createChild(String childName, String parentName) throws IOException {
    VirtualDisk child = store().createChild(childName, parentName);
    assertNotNull(child, "createChild returned null for " + childName);
    return opened.add(child);
  }

  /** The whole content of a closed disk, read through a read-only handle that is closed again. */
  private byte[] contentOf(String name) throws IOException {
    VirtualDisk disk = open(name, true);
    byte[] content = readAll(disk);
    opened.close(disk);
    return content;
  }

  /** A closed parent with data in a few places; returns its whole content. */
  /** A "parent" with data and a closed "child" written over it; returns what the child reads. */
  private byte[] parentWithWrittenChild() throws IOException {
    parentWithData("parent", SPEC);
    VirtualDisk child = createChild("child", "parent");
    byte[] expected = writeToChild(child);
    child.flush();
    opened.close(child);
    return expected;
  }

  private byte[] parentWithData(String name, DiskSpec spec) throws IOException {
    int s = spec.logicalSectorSizeBytes();
    VirtualDisk parent = create(name, spec);
    write(parent, 0, pattern(40, 16 * s));
    write(parent, MIB - 4L * s, pattern(41, 8 * s));
    write(parent, 3L * MIB, pattern(42, 64 * 1024));
    parent.flush();
    byte[] content = readAll(parent);
    opened.close(parent);
    return content;
  }

  /**
   * Writes over part of the parent's data and over a range the parent never wrote; returns what
   * the child must read.
   */
  private static byte[] writeToChild(VirtualDisk child) throws IOException {
    int s = child.logicalSectorSizeBytes();
    byte[] expected = readAll(child);
    int[][] writes = {{8 * s, 16 * s}, {2 * MIB, 8 * s}, {(int) child.sizeBytes() - s, s}};
    for (int[] w : writes) {
      byte[] data = pattern(50 + w[0], w[1]);
      write(child, w[0], data);
      System.arraycopy(data, 0, expected, w[0], w[1]);
    }
    return expected;
  }

  private void assumeDifferencing(String rule) {
    assumeTrue(
        supportsDifferencingDisks(),
        rule + " not checked: the store declares supportsDifferencingDisks() == false");
  }

  private static void rejects(Executable call, String message) {
    assertThrows(IllegalArgumentException.class, call, message);
  }
}
