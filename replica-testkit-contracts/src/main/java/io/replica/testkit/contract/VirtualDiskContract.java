package io.replica.testkit.contract;

import static io.replica.testkit.contract.ContractSupport.KIB;
import static io.replica.testkit.contract.ContractSupport.MIB;
import static io.replica.testkit.contract.ContractSupport.assertAllocationCoversData;
import static io.replica.testkit.contract.ContractSupport.assertSameBytes;
import static io.replica.testkit.contract.ContractSupport.assertWrittenBytes;
import static io.replica.testkit.contract.ContractSupport.assertZeros;
import static io.replica.testkit.contract.ContractSupport.describe;
import static io.replica.testkit.contract.ContractSupport.pattern;
import static io.replica.testkit.contract.ContractSupport.read;
import static io.replica.testkit.contract.ContractSupport.readAll;
import static io.replica.testkit.contract.ContractSupport.write;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.replica.spi.storage.DiskSpec;
import io.replica.spi.storage.VirtualDisk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.file.ReadOnlyFileSystemException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The conformance kit for {@link VirtualDisk}: checks rules D1.1 to D1.13 of {@code
 * docs/spi-rules.md}, so that the engine can treat every disk format alike.
 *
 * <p>Extend it in your test tree and implement {@link #createDisk(DiskSpec)}:
 *
 * <pre>{@code
 * class VhdxVirtualDiskContractTest extends VirtualDiskContract<VhdxDisk> {
 *   protected VhdxDisk createDisk(DiskSpec spec) throws IOException {
 *     return VhdxDisk.create(tempDir.resolve(UUID.randomUUID() + ".vhdx"), spec);
 *   }
 * }
 * }</pre>
 *
 * <p>Each test method is named after the rule it checks and its failure messages start with the
 * rule id. The kit runs the rules on a 512-byte and a 4096-byte sector geometry whose sizes are not
 * a multiple of 1 MiB, and closes every disk it created after each test. Test methods are final:
 * the only way to leave a rule unchecked is to leave the {@link #openReadOnly} hook unimplemented,
 * which shows D1.5 and D1.13 as skipped.
 *
 * @param <D> the disk implementation under test
 */
@ExtendWith(RuleIdInFailures.class)
public abstract class VirtualDiskContract<D extends VirtualDisk> {

  private static final int BLOCK = 64 * KIB;

  private final ContractSupport.Opened opened = new ContractSupport.Opened();

  /** For subclasses; the kit keeps no state between tests. */
  protected VirtualDiskContract() {}

  /**
   * Creates a fresh, empty, writable disk of the given geometry. Called several times per test,
   * once per geometry; the kit closes each disk after the test.
   *
   * @param spec the geometry; sizes are a few MiB
   * @return a new disk that no other test shares
   * @throws IOException if the medium fails; the test fails with it
   */
  protected abstract D createDisk(DiskSpec spec) throws IOException;

  /**
   * Opens a second, read-only handle of {@code disk}, for rules D1.5 and D1.13. Override it if the
   * implementation has read-only handles (disks from a {@code DiskStore} do: return {@code
   * store.open(name, true)}); by default D1.5 and D1.13 show as skipped. The kit calls it after
   * writing and flushing {@code disk}, and closes the returned handle after the test.
   *
   * @param disk a disk made by {@link #createDisk(DiskSpec)}, still open
   * @return a read-only handle of the same bytes, or empty if there is no such thing
   * @throws IOException if the medium fails
   */
  protected Optional<VirtualDisk> openReadOnly(D disk) throws IOException {
    return Optional.empty();
  }

  /**
   * Closes every disk and handle the test opened and has not closed itself, newest first, so that
   * tests never leak handles into each other.
   *
   * @throws Exception the first failure to close, with later ones suppressed
   */
  @AfterEach
  public final void closeOpenedDisks() throws Exception {
    opened.closeAll();
  }

  /** D1.1: a read returns the bytes most recently written, across block boundaries and overlaps. */
  @Test
  public final void required_D1_1_readAfterWriteReturnsWrittenBytes() throws IOException {
    for (DiskSpec spec : geometries()) {
      D disk = newDisk(spec);
      int s = spec.logicalSectorSizeBytes();
      int size = (int) spec.sizeBytes();
      String where = describe(spec);
      byte[] model = new byte[size];
      BitSet written = new BitSet(size);
      List<long[]> writes = new ArrayList<>();
      writes.add(new long[] {0, s}); // the first sector
      writes.add(new long[] {size - s, s}); // the last sector
      writes.add(new long[] {512 * KIB, MIB + 4L * s}); // spans 1 MiB
      writes.add(new long[] {MIB - s, 2L * s}); // crosses 1 MiB, over the previous write
      writes.add(new long[] {2L * MIB - 3L * s, BLOCK}); // crosses 2 MiB
      writes.add(new long[] {3L * MIB, size - 3L * MIB}); // ends exactly at the end
      SplittableRandom random = new SplittableRandom(11);
      for (int i = 0; i < 24; i++) {
        long sectors = random.nextLong(1, 2L * BLOCK / s + 1);
        long offset = random.nextLong(0, size / s - sectors + 1) * s;
        writes.add(new long[] {offset, sectors * s});
      }
      for (int i = 0; i < writes.size(); i++) {
        int offset = (int) writes.get(i)[0];
        int length = (int) writes.get(i)[1];
        byte[] data = pattern(100 + i, length);
        write(disk, offset, data);
        System.arraycopy(data, 0, model, offset, length);
        written.set(offset, offset + length);
        assertSameBytes(
            "D1.1: a read right after writing " + length + " bytes at offset " + offset
                + " must return them " + where,
            offset, data, read(disk, offset, length));
      }
      assertWrittenBytes(
          "D1.1: a read of the whole disk must return the last bytes written everywhere " + where,
          model, written, 0, readAll(disk));
      for (int i = 0; i < 16; i++) {
        long sectors = random.nextLong(1, 4L * BLOCK / s + 1);
        int offset = (int) (random.nextLong(0, size / s - sectors + 1) * s);
        int length = (int) (sectors * s);
        assertWrittenBytes(
            "D1.1: a read of " + length + " bytes at offset " + offset
                + " must return the last bytes written there " + where,
            model, written, offset, read(disk, offset, length));
      }
    }
  }

  /** D1.2: a fresh disk reads as zeros, and so does every byte never written. */
  @Test
  public final void required_D1_2_unwrittenRangesReadAsZeros() throws IOException {
    for (DiskSpec spec : geometries()) {
      D disk = newDisk(spec);
      int s = spec.logicalSectorSizeBytes();
      int size = (int) spec.sizeBytes();
      String where = describe(spec);
      assertZeros("D1.2: a fresh disk must read as zeros " + where, readAll(disk), 0, size);
      int offset = MIB + 8 * s;
      write(disk, offset, pattern(2, 4 * s));
      assertZeros(
          "D1.2: the sectors before a write must still read as zeros " + where,
          read(disk, MIB, 8 * s), 0, 8 * s);
      assertZeros(
          "D1.2: the sectors after a write must still read as zeros " + where,
          read(disk, offset + 4L * s, 8 * s), 0, 8 * s);
      byte[] all = readAll(disk);
      assertZeros("D1.2: bytes never written must read as zeros " + where, all, 0, offset);
      assertZeros(
          "D1.2: bytes never written must read as zeros " + where, all, offset + 4 * s, size);
    }
  }

  /** D1.3: unaligned offsets and lengths are refused with IllegalArgumentException. */
  @Test
  public final void required_D1_3_unalignedIoIsRejectedAndChangesNothing() throws IOException {
    for (DiskSpec spec : geometries()) {
      D disk = newDisk(spec);
      int s = spec.logicalSectorSizeBytes();
      String where = describe(spec);
      byte[] before = pattern(3, 8 * s);
      write(disk, 0, before);
      List<long[]> cases = new ArrayList<>();
      cases.add(new long[] {1, s});
      cases.add(new long[] {s / 2, s});
      cases.add(new long[] {s - 1, s});
      cases.add(new long[] {s + 1, s});
      cases.add(new long[] {s, 1});
      cases.add(new long[] {s, s - 1});
      cases.add(new long[] {s, s + 1});
      cases.add(new long[] {0, 2L * s - 1});
      if (s > 512) {
        cases.add(new long[] {512, s});
        cases.add(new long[] {0, 512});
        cases.add(new long[] {s, s + 512});
      }
      for (long[] c : cases) {
        long offset = c[0];
        int length = (int) c[1];
        String io = " at offset " + offset + " of " + length + " bytes is not aligned to the "
            + s + "-byte sector and must throw IllegalArgumentException " + where;
        assertThrows(
            IllegalArgumentException.class,
            () -> disk.write(offset, ByteBuffer.wrap(pattern(99, length))),
            "D1.3: a write" + io);
        assertThrows(
            IllegalArgumentException.class,
            () -> disk.read(offset, ByteBuffer.allocate(length)),
            "D1.3: a read" + io);
      }
      assertSameBytes(
          "D1.3: a refused unaligned write must change nothing " + where,
          0, before, read(disk, 0, 8 * s));
    }
  }

  /** D1.4: ranges that are not entirely inside the disk are refused, overflow included. */
  @Test
  public final void required_D1_4_ioOutsideTheDiskIsRejectedAndChangesNothing()
      throws IOException {
    for (DiskSpec spec : geometries()) {
      D disk = newDisk(spec);
      int s = spec.logicalSectorSizeBytes();
      long size = spec.sizeBytes();
      String where = describe(spec);
      byte[] tail = pattern(4, 2 * s);
      write(disk, size - 2L * s, tail);
      long maxAligned = Long.MAX_VALUE - Long.MAX_VALUE % s;
      long[][] cases = {
        {-s, s},
        {Long.MIN_VALUE, s},
        {size, s},
        {size + s, s},
        {size - s, 2L * s},
        {size - 2L * s, 4L * s},
        {maxAligned, s},
        {maxAligned - s, 4L * s},
      };
      for (long[] c : cases) {
        long offset = c[0];
        int length = (int) c[1];
        String io = " at offset " + offset + " of " + length + " bytes is not inside the "
            + size + "-byte disk and must throw IllegalArgumentException " + where;
        assertThrows(
            IllegalArgumentException.class,
            () -> disk.write(offset, ByteBuffer.wrap(pattern(98, length))),
            "D1.4: a write" + io);
        assertThrows(
            IllegalArgumentException.class,
            () -> disk.read(offset, ByteBuffer.allocate(length)),
            "D1.4: a read" + io);
      }
      assertSameBytes(
          "D1.4: a refused write past the end must not write the part inside the disk " + where,
          size - 2L * s, tail, read(disk, size - 2L * s, 2 * s));
    }
  }

  /** D1.5: a read-only handle reads the disk and refuses writes, changing nothing. */
  @Test
  public final void optional_D1_5_readOnlyHandleRefusesWrites() throws IOException {
    for (DiskSpec spec : geometries()) {
      D disk = newDisk(spec);
      int s = spec.logicalSectorSizeBytes();
      String where = describe(spec);
      byte[] before = pattern(5, 4 * s);
      write(disk, s, before);
      disk.flush();
      Optional<VirtualDisk> handle = openReadOnly(disk);
      assumeTrue(
          handle != null && handle.isPresent(),
          "D1.5 not checked: override openReadOnly(disk) to return a read-only handle of the"
              + " same disk");
      VirtualDisk readOnly = opened.add(handle.get());
      assertTrue(
          readOnly.isReadOnly(),
          "D1.5: a read-only handle must report isReadOnly() == true " + where);
      assertSameBytes(
          "D1.5: a read-only handle must read the disk's bytes " + where,
          s, before, read(readOnly, s, 4 * s));
      assertThrows(
          ReadOnlyFileSystemException.class,
          () -> readOnly.write(s, ByteBuffer.wrap(pattern(6, 2 * s))),
          "D1.5: a write through a read-only handle must throw ReadOnlyFileSystemException "
              + where);
      assertSameBytes(
          "D1.5: a refused write through a read-only handle must change nothing " + where,
          s, before, read(disk, s, 4 * s));
    }
  }

  /** D1.6: after close, every I/O call throws ClosedChannelException and close is idempotent. */
  @Test
  public final void required_D1_6_closedDiskRefusesEveryCall() throws IOException {
    for (DiskSpec spec : geometries()) {
      D disk = newDisk(spec);
      int s = spec.logicalSectorSizeBytes();
      String where = describe(spec);
      write(disk, 0, pattern(7, s));
      opened.close(disk);
      String closed = " on a closed disk must throw ClosedChannelException " + where;
      assertThrows(
          ClosedChannelException.class,
          () -> disk.read(0, ByteBuffer.allocate(s)),
          "D1.6: read" + closed);
      assertThrows(
          ClosedChannelException.class,
          () -> disk.write(0, ByteBuffer.wrap(pattern(8, s))),
          "D1.6: write" + closed);
      assertThrows(ClosedChannelException.class, disk::flush, "D1.6: flush" + closed);
      assertThrows(
          ClosedChannelException.class, disk::allocatedRanges, "D1.6: allocatedRanges" + closed);
      try {
        disk.trim(0, s);
        fail("D1.6: trim" + closed + " (or UnsupportedOperationException if it cannot trim)");
      } catch (ClosedChannelException | UnsupportedOperationException expected) {
        // either is right
      } catch (IOException | RuntimeException e) {
        fail("D1.6: trim" + closed + " (or UnsupportedOperationException), not " + e, e);
      }
      assertDoesNotThrow(disk::close, "D1.6: a second close() must have no effect " + where);
    }
  }

  /** D1.7: allocated ranges are ordered, disjoint, inside, and every byte outside reads zero. */
  @Test
  public final void required_D1_7_allocatedRangesCoverEveryNonZeroByte() throws IOException {
    for (DiskSpec spec : geometries()) {
      D disk = newDisk(spec);
      int s = spec.logicalSectorSizeBytes();
      long size = spec.sizeBytes();
      checkAllocatedRanges(disk, spec, "on a fresh disk");
      write(disk, 0, pattern(9, s));
      write(disk, 300 * KIB, pattern(10, BLOCK));
      write(disk, size - s, pattern(11, s));
      write(disk, 2L * MIB, new byte[s]);
      checkAllocatedRanges(disk, spec, "after writes");
      try {
        disk.trim(300 * KIB, 16 * KIB);
        checkAllocatedRanges(disk, spec, "after a trim");
      } catch (UnsupportedOperationException e) {
        // trim is optional; D1.10 checks that refusing it changes nothing
      }
    }
  }

  /** D1.8: buffers are read and written between position and limit, which position reaches. */
  @Test
  public final void required_D1_8_buffersAdvanceToTheirLimit() throws IOException {
    for (DiskSpec spec : geometries()) {
      D disk = newDisk(spec);
      int s = spec.logicalSectorSizeBytes();
      String where = describe(spec);

      byte[] heap = pattern(12, 2 * s + 10);
      ByteBuffer heapSrc = ByteBuffer.wrap(heap);
      heapSrc.position(3).limit(3 + 2 * s);
      writeChecked(disk, 0, heapSrc, "a heap buffer with position 3", where);
      assertSameBytes(
          "D1.8: write must write exactly the bytes between position and limit " + where,
          0, Arrays.copyOfRange(heap, 3, 3 + 2 * s), read(disk, 0, 2 * s));

      byte[] direct = pattern(13, s);
      ByteBuffer directSrc = ByteBuffer.allocateDirect(s).put(direct).flip();
      writeChecked(disk, 2L * s, directSrc, "a direct buffer", where);
      byte[] readOnly = pattern(14, s);
      writeChecked(
          disk, 3L * s, ByteBuffer.wrap(readOnly).asReadOnlyBuffer(), "a read-only buffer", where);
      byte[] sliced = pattern(15, s + 7);
      writeChecked(
          disk, 4L * s, ByteBuffer.wrap(sliced, 7, s).slice(), "a sliced buffer", where);
      assertSameBytes(
          "D1.8: write from a direct buffer must write its bytes " + where,
          2L * s, direct, read(disk, 2L * s, s));
      assertSameBytes(
          "D1.8: write from a read-only buffer must write its bytes " + where,
          3L * s, readOnly, read(disk, 3L * s, s));
      assertSameBytes(
          "D1.8: write from a sliced buffer must write the bytes of the slice " + where,
          4L * s, Arrays.copyOfRange(sliced, 7, 7 + s), read(disk, 4L * s, s));

      byte[] heapDst = new byte[s + 13];
      Arrays.fill(heapDst, (byte) 0x5a);
      ByteBuffer dst = ByteBuffer.wrap(heapDst);
      dst.position(5).limit(5 + s);
      disk.read(0, dst);
      assertEquals(5 + s, dst.position(), "D1.8: read must leave the position at the limit " + where);
      assertEquals(5 + s, dst.limit(), "D1.8: read must not change the limit " + where);
      assertSameBytes(
          "D1.8: read must fill exactly the bytes between position and limit " + where,
          0, Arrays.copyOfRange(heap, 3, 3 + s), Arrays.copyOfRange(heapDst, 5, 5 + s));
      byte[] untouched = new byte[13];
      Arrays.fill(untouched, (byte) 0x5a);
      byte[] outside = new byte[13];
      System.arraycopy(heapDst, 0, outside, 0, 5);
      System.arraycopy(heapDst, 5 + s, outside, 5, 8);
      assertSameBytes(
          "D1.8: read must not touch the bytes outside position and limit " + where,
          0, untouched, outside);

      ByteBuffer directDst = ByteBuffer.allocateDirect(s);
      disk.read(2L * s, directDst);
      assertEquals(s, directDst.position(), "D1.8: read must fill a direct buffer " + where);
      byte[] fromDirect = new byte[s];
      directDst.flip().get(fromDirect);
      assertSameBytes(
          "D1.8: read into a direct buffer must return the bytes " + where,
          2L * s, direct, fromDirect);

      byte[] slicedDst = new byte[s + 9];
      ByteBuffer sliceDst = ByteBuffer.wrap(slicedDst, 9, s).slice();
      disk.read(4L * s, sliceDst);
      assertEquals(s, sliceDst.position(), "D1.8: read must fill a sliced buffer " + where);
      assertSameBytes(
          "D1.8: read into a sliced buffer must fill the slice only " + where,
          4L * s, Arrays.copyOfRange(sliced, 7, 7 + s), Arrays.copyOfRange(slicedDst, 9, 9 + s));
      assertZeros(
          "D1.8: read into a sliced buffer must not touch the bytes before the slice " + where,
          slicedDst, 0, 9);
    }
  }

  /** D1.9: threads writing neighbouring blocks at the same time all land, without a flush. */
  @Test
  public final void required_D1_9_concurrentWritesToDifferentBlocksAllLand() throws Exception {
    int threads = 8;
    int blocksPerThread = 8;
    for (DiskSpec spec : geometries()) {
      D disk = newDisk(spec);
      String where = describe(spec);
      byte[][][] data = new byte[threads][blocksPerThread][];
      for (int t = 0; t < threads; t++) {
        for (int i = 0; i < blocksPerThread; i++) {
          data[t][i] = pattern(1000 + 100L * t + i, BLOCK);
        }
      }
      ExecutorService pool = Executors.newFixedThreadPool(threads);
      try {
        CountDownLatch start = new CountDownLatch(1);
        List<Future<?>> writers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
          int thread = t;
          writers.add(
              pool.submit(
                  () -> {
                    start.await();
                    for (int i = 0; i < blocksPerThread; i++) {
                      long offset = blockOffset(thread, i, threads);
                      byte[] block = data[thread][i];
                      write(disk, offset, Arrays.copyOfRange(block, 0, BLOCK / 2));
                      write(disk, offset + BLOCK / 2, Arrays.copyOfRange(block, BLOCK / 2, BLOCK));
                    }
                    for (int i = 0; i < blocksPerThread; i++) {
                      long offset = blockOffset(thread, i, threads);
                      assertSameBytes(
                          "D1.9: a writer thread must read its own block back while other"
                              + " threads write theirs " + where,
                          offset, data[thread][i], read(disk, offset, BLOCK));
                    }
                    return null;
                  }));
        }
        start.countDown();
        for (Future<?> writer : writers) {
          awaitWriter(writer, where);
        }
      } finally {
        pool.shutdownNow();
      }
      byte[] all = readAll(disk);
      for (int t = 0; t < threads; t++) {
        for (int i = 0; i < blocksPerThread; i++) {
          int offset = (int) blockOffset(t, i, threads);
          assertSameBytes(
              "D1.9: once all writers finished, a read on another thread must return every"
                  + " block they wrote " + where,
              offset, data[t][i], Arrays.copyOfRange(all, offset, offset + BLOCK));
        }
      }
    }
  }

  /** D1.10: trim either zeroes exactly its range or throws UnsupportedOperationException. */
  @Test
  public final void required_D1_10_trimZeroesTheRangeOrChangesNothing() throws IOException {
    for (DiskSpec spec : geometries()) {
      D disk = newDisk(spec);
      String where = describe(spec);
      int regionOffset = BLOCK;
      int regionLength = 2 * BLOCK;
      write(disk, regionOffset, pattern(16, regionLength));
      byte[] expected = readAll(disk);
      String how;
      try {
        disk.trim(regionOffset + BLOCK / 2, BLOCK / 2);
        disk.trim(2L * MIB, BLOCK);
        Arrays.fill(expected, regionOffset + BLOCK / 2, regionOffset + BLOCK, (byte) 0);
        Arrays.fill(expected, 2 * MIB, 2 * MIB + BLOCK, (byte) 0);
        how = "after trim returned, the trimmed ranges must read as zeros and the rest unchanged";
      } catch (UnsupportedOperationException e) {
        how = "trim threw UnsupportedOperationException, so nothing may change";
      }
      assertSameBytes("D1.10: " + how + " " + where, 0, expected, readAll(disk));
    }
  }

  /** D1.11: flush succeeds and changes nothing the disk reads; writes go on after it. */
  @Test
  public final void required_D1_11_flushKeepsContent() throws IOException {
    for (DiskSpec spec : geometries()) {
      D disk = newDisk(spec);
      int s = spec.logicalSectorSizeBytes();
      int size = (int) spec.sizeBytes();
      String where = describe(spec);
      assertDoesNotThrow(disk::flush, "D1.11: flush of a fresh disk must succeed " + where);
      byte[] model = new byte[size];
      BitSet written = new BitSet(size);
      int[][] writes = {{0, 8 * s}, {MIB, 16 * s}, {size - 4 * s, 4 * s}};
      for (int[] w : writes) {
        byte[] data = pattern(17 + w[0], w[1]);
        write(disk, w[0], data);
        System.arraycopy(data, 0, model, w[0], w[1]);
        written.set(w[0], w[0] + w[1]);
      }
      byte[] before = readAll(disk);
      assertDoesNotThrow(disk::flush, "D1.11: flush after writes must succeed " + where);
      byte[] after = readAll(disk);
      assertSameBytes(
          "D1.11: flush must not change what the disk reads " + where, 0, before, after);
      assertWrittenBytes(
          "D1.11: after flush the disk must read what was written before it " + where,
          model, written, 0, after);
      byte[] later = pattern(18, 8 * s);
      write(disk, 2 * MIB, later);
      System.arraycopy(later, 0, model, 2 * MIB, later.length);
      written.set(2 * MIB, 2 * MIB + later.length);
      disk.flush();
      assertWrittenBytes(
          "D1.11: writes after a flush must land like any other " + where,
          model, written, 0, readAll(disk));
    }
  }

  /** D1.12: size and sector size are those of the spec, and a new disk is writable. */
  @Test
  public final void required_D1_12_gettersMatchTheSpec() throws IOException {
    List<DiskSpec> specs =
        List.of(
            new DiskSpec(4L * MIB + 3 * 512, 512, 512, false),
            new DiskSpec(4L * MIB + 3 * 512, 512, 4096, false),
            new DiskSpec(4L * MIB + 3 * 4096, 4096, 4096, false),
            new DiskSpec(4L * MIB, 512, 4096, true));
    for (DiskSpec spec : specs) {
      D disk = newDisk(spec);
      String where = describe(spec) + (spec.fixed() ? " fixed" : " dynamic");
      assertEquals(
          spec.sizeBytes(), disk.sizeBytes(), "D1.12: sizeBytes() must equal the spec " + where);
      assertEquals(
          spec.logicalSectorSizeBytes(),
          disk.logicalSectorSizeBytes(),
          "D1.12: logicalSectorSizeBytes() must equal the spec " + where);
      assertFalse(
          disk.isReadOnly(), "D1.12: a disk created for writing must not be read-only " + where);
    }
  }

  /**
   * D1.13: a handle opened after writes and a flush reports an allocation that holds every byte it
   * reads as non-zero, not only the handle that wrote (which D1.7 checks).
   */
  @Test
  public final void optional_D1_13_anotherHandleReportsTheAllocation() throws IOException {
    for (DiskSpec spec : geometries()) {
      D disk = newDisk(spec);
      int s = spec.logicalSectorSizeBytes();
      long size = spec.sizeBytes();
      String where = describe(spec);
      write(disk, 0, pattern(19, 4 * s));
      write(disk, MIB - 2L * s, pattern(20, 4 * s));
      write(disk, 3L * MIB, pattern(21, BLOCK));
      write(disk, size - s, pattern(22, s));
      disk.flush();
      Optional<VirtualDisk> handle = openReadOnly(disk);
      assumeTrue(
          handle != null && handle.isPresent(),
          "D1.13 not checked: override openReadOnly(disk) to return a read-only handle of the"
              + " same disk");
      VirtualDisk other = opened.add(handle.get());
      assertAllocationCoversData(
          "D1.13", other, "through a handle opened after the writes and a flush " + where);
    }
  }

  private static List<DiskSpec> geometries() {
    return List.of(
        new DiskSpec(4L * MIB + 5 * 512, 512, 4096, false),
        new DiskSpec(4L * MIB + 5 * 4096, 4096, 4096, false));
  }

  private D newDisk(DiskSpec spec) throws IOException {
    D disk = Objects.requireNonNull(createDisk(spec), "createDisk returned null");
    return opened.add(disk);
  }

  private static long blockOffset(int thread, int index, int threads) {
    return (long) (index * threads + thread) * BLOCK;
  }

  private static void awaitWriter(Future<?> writer, String where) throws InterruptedException {
    try {
      // A guard against a deadlocked disk, not a timing assertion: it only ends a hung test.
      writer.get(5, TimeUnit.MINUTES);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof AssertionError) {
        throw (AssertionError) e.getCause();
      }
      fail("D1.9: a concurrent writer failed " + where + ": " + e.getCause(), e.getCause());
    } catch (TimeoutException e) {
      fail("D1.9: concurrent writers did not finish within 5 minutes; the disk may deadlock "
          + where);
    }
  }

  private static void writeChecked(
      VirtualDisk disk, long offset, ByteBuffer src, String kind, String where) {
    int limit = src.limit();
    assertDoesNotThrow(
        () -> disk.write(offset, src), "D1.8: write from " + kind + " must work " + where);
    assertEquals(
        limit, src.position(),
        "D1.8: write from " + kind + " must leave its position at its limit " + where);
    assertEquals(
        limit, src.limit(), "D1.8: write from " + kind + " must not change its limit " + where);
  }

  private static void checkAllocatedRanges(VirtualDisk disk, DiskSpec spec, String when)
      throws IOException {
    assertAllocationCoversData("D1.7", disk, when + " " + describe(spec));
  }
}
