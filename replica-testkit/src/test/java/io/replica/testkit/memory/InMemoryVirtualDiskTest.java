package io.replica.testkit.memory;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replica.spi.storage.ByteRange;
import io.replica.spi.storage.DiskSpec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.file.AccessDeniedException;
import java.nio.file.ReadOnlyFileSystemException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class InMemoryVirtualDiskTest {
  private static final int KIB = 1024;
  private static final long MIB = 1024L * 1024;
  private static final int CHUNK = 64 * KIB;

  private final InMemoryVirtualDisk disk = InMemoryVirtualDisk.create("d", DiskSpec.dynamic(4 * MIB));

  static byte[] filled(int length, int value) {
    byte[] bytes = new byte[length];
    Arrays.fill(bytes, (byte) value);
    return bytes;
  }

  static byte[] read(InMemoryVirtualDisk disk, long offset, int length) throws IOException {
    ByteBuffer dst = ByteBuffer.allocate(length);
    disk.read(offset, dst);
    assertFalse(dst.hasRemaining());
    return dst.array();
  }

  static void write(InMemoryVirtualDisk disk, long offset, byte[] data) throws IOException {
    ByteBuffer src = ByteBuffer.wrap(data);
    disk.write(offset, src);
    assertFalse(src.hasRemaining());
  }

  // ---------------------------------------------------------------- basics

  @Test
  void newDiskReadsAsZerosAndReportsItsGeometry() throws IOException {
    assertArrayEquals(new byte[8 * KIB], read(disk, 0, 8 * KIB));
    assertEquals(4 * MIB, disk.sizeBytes());
    assertEquals(512, disk.logicalSectorSizeBytes());
    assertFalse(disk.isReadOnly());
    assertEquals(List.of(), disk.allocatedRanges());
    assertEquals(0, disk.allocatedBytes());
  }

  @Test
  void readsBackWhatWasWrittenAcrossChunkBoundaries() throws IOException {
    byte[] data = new byte[3 * CHUNK];
    new SplittableRandom(1).nextBytes(data);
    write(disk, CHUNK - 512, data);
    assertArrayEquals(data, read(disk, CHUNK - 512, data.length));
    assertArrayEquals(new byte[512], read(disk, CHUNK - 1024, 512));
  }

  @Test
  void readIntoADirectBufferAtAPosition() throws IOException {
    write(disk, 512, filled(512, 7));
    ByteBuffer dst = ByteBuffer.allocateDirect(1024);
    dst.position(512);
    disk.read(512, dst);
    assertEquals(1024, dst.position());
    assertEquals(7, dst.get(600));
  }

  // ---------------------------------------------------------------- strictness

  @Test
  void rejectsUnalignedOffsetsAndLengths() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> disk.write(100, ByteBuffer.allocate(512)));
    assertTrue(e.getMessage().contains("offset 100"), e.getMessage());
    assertTrue(e.getMessage().contains("512"), e.getMessage());
    assertTrue(e.getMessage().contains("'d'"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> disk.write(0, ByteBuffer.allocate(100)));
    assertThrows(IllegalArgumentException.class, () -> disk.read(1, ByteBuffer.allocate(512)));
    assertThrows(IllegalArgumentException.class, () -> disk.read(0, ByteBuffer.allocate(513)));
    assertThrows(IllegalArgumentException.class, () -> disk.trim(0, 100));
  }

  @Test
  void rejectsRangesOutsideTheDisk() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> disk.write(4 * MIB, ByteBuffer.allocate(512)));
    assertTrue(e.getMessage().contains(String.valueOf(4 * MIB)), e.getMessage());
    assertThrows(IllegalArgumentException.class,
        () -> disk.read(4 * MIB - 512, ByteBuffer.allocate(1024)));
    assertThrows(IllegalArgumentException.class, () -> disk.read(-512, ByteBuffer.allocate(512)));
    assertThrows(IllegalArgumentException.class, () -> disk.trim(0, 8 * MIB));
    assertThrows(IllegalArgumentException.class, () -> disk.trim(512, -512));
  }

  @Test
  void aRejectedWriteChangesNothingAndLeavesTheBuffer() throws IOException {
    ByteBuffer src = ByteBuffer.wrap(filled(1024, 1));
    assertThrows(IllegalArgumentException.class, () -> disk.write(4 * MIB - 512, src));
    assertEquals(0, src.position());
    assertArrayEquals(new byte[512], read(disk, 4 * MIB - 512, 512));
    assertEquals(0, disk.bytesWritten());
  }

  @Test
  void fourKibSectorDiskRejects512ByteIo() throws IOException {
    InMemoryVirtualDisk big = InMemoryVirtualDisk.create(new DiskSpec(MIB, 4096, 4096, false));
    assertThrows(IllegalArgumentException.class, () -> big.write(512, ByteBuffer.allocate(4096)));
    assertThrows(IllegalArgumentException.class, () -> big.write(0, ByteBuffer.allocate(512)));
    write(big, 4096, filled(4096, 3));
    assertArrayEquals(filled(4096, 3), read(big, 4096, 4096));
  }

  @Test
  void readOnlyHandleRefusesWritesAndTrims() throws IOException {
    write(disk, 0, filled(512, 9));
    InMemoryVirtualDisk readOnly = disk.openAnotherHandle(true);
    assertTrue(readOnly.isReadOnly());
    assertThrows(ReadOnlyFileSystemException.class,
        () -> readOnly.write(0, ByteBuffer.allocate(512)));
    ReadOnlyFileSystemException e =
        assertThrows(ReadOnlyFileSystemException.class, () -> readOnly.trim(0, 512));
    assertTrue(e.getMessage().contains("read-only"), e.getMessage());
    assertArrayEquals(filled(512, 9), read(readOnly, 0, 512));
    readOnly.flush(); // flushing through a read-only handle is fine
    readOnly.close();
  }

  @Test
  void closedHandleRefusesEveryCall() throws IOException {
    disk.close();
    assertFalse(disk.isOpen());
    ClosedChannelException e = assertThrows(ClosedChannelException.class,
        () -> disk.read(0, ByteBuffer.allocate(512)));
    assertTrue(e.getMessage().contains("closed"), e.getMessage());
    assertThrows(ClosedChannelException.class, () -> disk.write(0, ByteBuffer.allocate(512)));
    assertThrows(ClosedChannelException.class, disk::flush);
    assertThrows(ClosedChannelException.class, disk::allocatedRanges);
    assertThrows(ClosedChannelException.class, () -> disk.trim(0, 512));
    disk.close(); // closing twice is fine
    // misaligned I/O on a closed disk reports the closed handle first
    assertThrows(ClosedChannelException.class, () -> disk.read(1, ByteBuffer.allocate(512)));
  }

  @Test
  void rejectsNulls() {
    assertThrows(NullPointerException.class, () -> disk.write(0, null));
    assertThrows(NullPointerException.class, () -> disk.read(0, null));
    assertThrows(NullPointerException.class, () -> InMemoryVirtualDisk.create(null));
    assertThrows(NullPointerException.class, () -> disk.simulateCrash(null));
  }

  // ---------------------------------------------------------------- sparseness

  @Test
  void hugeDiskCostsNothingUntilWrittenAndReportsWrittenChunks() throws IOException {
    long size = 64L << 40; // 64 TiB
    InMemoryVirtualDisk huge = InMemoryVirtualDisk.create(DiskSpec.dynamic(size));
    write(huge, 0, filled(4096, 1));
    write(huge, CHUNK, filled(512, 2)); // the next chunk: merges with the first
    write(huge, 10 * MIB + 512, filled(512, 3));
    write(huge, size - 512, filled(512, 4));

    assertEquals(List.of(
            new ByteRange(0, 2L * CHUNK),
            new ByteRange(10 * MIB, CHUNK),
            new ByteRange(size - CHUNK, CHUNK)),
        huge.allocatedRanges());
    assertEquals(4L * CHUNK, huge.allocatedBytes());
    assertArrayEquals(filled(512, 4), read(huge, size - 512, 512));
    assertArrayEquals(new byte[512], read(huge, size / 2, 512));
    IllegalStateException e = assertThrows(IllegalStateException.class, huge::contentSnapshot);
    assertTrue(e.getMessage().contains("do not fit"), e.getMessage());
  }

  @Test
  void lastPartialChunkIsClippedToTheDiskSize() throws IOException {
    InMemoryVirtualDisk odd = InMemoryVirtualDisk.create(DiskSpec.dynamic(100 * KIB));
    write(odd, 100 * KIB - 512, filled(512, 5));
    assertEquals(List.of(new ByteRange(CHUNK, 100 * KIB - CHUNK)), odd.allocatedRanges());
    assertArrayEquals(filled(512, 5), read(odd, 100 * KIB - 512, 512));
  }

  @Test
  void chunksFlushedAsZerosAreReleased() throws IOException {
    write(disk, 0, filled(4096, 1));
    write(disk, 2 * CHUNK, filled(4096, 1));
    disk.flush();
    write(disk, 0, new byte[4096]);
    assertEquals(2, disk.allocatedRanges().size(), "unflushed zeros may still be allocated");
    disk.flush();
    assertEquals(List.of(new ByteRange(2 * CHUNK, CHUNK)), disk.allocatedRanges());
  }

  @Test
  void trimZeroesTheRangeAndReleasesWholeChunks() throws IOException {
    write(disk, 0, filled(3 * CHUNK, 1));
    disk.flush();
    disk.trim(512, 2 * CHUNK); // part of chunk 0, all of chunk 1, the first sector of chunk 2
    assertArrayEquals(filled(512, 1), read(disk, 0, 512));
    assertArrayEquals(new byte[2 * CHUNK], read(disk, 512, 2 * CHUNK));
    assertArrayEquals(filled(CHUNK - 512, 1), read(disk, 2 * CHUNK + 512, CHUNK - 512));
    assertEquals(List.of(new ByteRange(0, CHUNK), new ByteRange(2 * CHUNK, CHUNK)),
        disk.allocatedRanges());
    disk.flush();
    assertEquals(2L * CHUNK, disk.allocatedBytes());
  }

  @Test
  void trimIsLostInACrashLikeAWrite() throws IOException {
    write(disk, 0, filled(CHUNK, 1));
    disk.flush();
    disk.trim(0, CHUNK);
    assertTrue(disk.hasUnflushedWrites());
    disk.simulateCrash();
    assertArrayEquals(filled(CHUNK, 1), read(disk, 0, CHUNK));
  }

  // ---------------------------------------------------------------- crashes

  @Test
  void crashLosesUnflushedWritesAndKeepsFlushedOnes() throws IOException {
    write(disk, 0, filled(4096, 1));
    disk.flush();
    write(disk, 0, filled(512, 2)); // overwrites part of a flushed chunk
    write(disk, 2 * MIB, filled(512, 3)); // a new chunk
    assertTrue(disk.hasUnflushedWrites());

    disk.simulateCrash();

    assertFalse(disk.hasUnflushedWrites());
    assertArrayEquals(filled(4096, 1), read(disk, 0, 4096));
    assertArrayEquals(new byte[512], read(disk, 2 * MIB, 512));
    assertEquals(List.of(new ByteRange(0, CHUNK)), disk.allocatedRanges());
    assertTrue(disk.isOpen(), "a crash of a standalone disk keeps its handles");
  }

  @Test
  void crashAfterFlushLosesNothing() throws IOException {
    byte[] data = new byte[8 * KIB];
    new SplittableRandom(3).nextBytes(data);
    write(disk, 4096, data);
    disk.flush();
    byte[] before = disk.contentSnapshot();
    disk.simulateCrash();
    assertArrayEquals(before, disk.contentSnapshot());
  }

  @Test
  void tornCrashKeepsWholeSectorsFromBeforeOrAfter() throws IOException {
    int sectors = 256;
    write(disk, 0, filled(sectors * 512, 0x11));
    disk.flush();
    write(disk, 0, filled(sectors * 512, 0x22));

    disk.simulateCrash(new SplittableRandom(42));

    byte[] after = read(disk, 0, sectors * 512);
    int old = 0;
    int fresh = 0;
    for (int s = 0; s < sectors; s++) {
      byte[] sector = Arrays.copyOfRange(after, s * 512, (s + 1) * 512);
      if (Arrays.equals(sector, filled(512, 0x11))) {
        old++;
      } else if (Arrays.equals(sector, filled(512, 0x22))) {
        fresh++;
      } else {
        throw new AssertionError("sector " + s + " is torn inside: " + Arrays.toString(sector));
      }
    }
    assertEquals(sectors, old + fresh);
    assertTrue(old > 0 && fresh > 0, "a 256-sector write was kept or lost as a whole: " + old);
    assertFalse(disk.hasUnflushedWrites());
  }

  @Test
  void tornCrashOfNewChunkKeepsZerosOrNewData() throws IOException {
    write(disk, CHUNK, filled(CHUNK, 0x33));
    disk.simulateCrash(new SplittableRandom(7));
    byte[] after = read(disk, CHUNK, CHUNK);
    for (int s = 0; s < CHUNK / 512; s++) {
      byte[] sector = Arrays.copyOfRange(after, s * 512, (s + 1) * 512);
      assertTrue(Arrays.equals(sector, new byte[512]) || Arrays.equals(sector, filled(512, 0x33)));
    }
  }

  @Test
  void tornCrashIsDeterministicForASeed() throws IOException {
    assertArrayEquals(tornOutcome(99), tornOutcome(99));
  }

  private static byte[] tornOutcome(long seed) throws IOException {
    InMemoryVirtualDisk d = InMemoryVirtualDisk.create(DiskSpec.dynamic(MIB));
    byte[] data = new byte[200 * KIB];
    new SplittableRandom(5).nextBytes(data);
    write(d, 0, data);
    d.simulateCrash(new SplittableRandom(seed));
    return d.contentSnapshot();
  }

  // ---------------------------------------------------------------- handles

  @Test
  void handlesShareContentButNotTheirClosedFlag() throws IOException {
    InMemoryVirtualDisk other = disk.openAnotherHandle(false);
    write(disk, 0, filled(512, 1));
    assertArrayEquals(filled(512, 1), read(other, 0, 512));
    write(other, 512, filled(512, 2));
    disk.close();
    assertTrue(other.isOpen());
    assertArrayEquals(filled(512, 2), read(other, 512, 512));
    assertEquals(1024, other.bytesWritten(), "counters are per disk, not per handle");
    InMemoryVirtualDisk third = disk.openAnotherHandle(true); // from a closed handle
    assertArrayEquals(filled(512, 1), read(third, 0, 512));
  }

  @Test
  void countersCountSuccessfulCalls() throws IOException {
    write(disk, 0, filled(1024, 1));
    read(disk, 0, 512);
    disk.flush();
    assertThrows(IllegalArgumentException.class, () -> disk.write(1, ByteBuffer.allocate(512)));
    assertEquals(1024, disk.bytesWritten());
    assertEquals(512, disk.bytesRead());
    assertEquals(1, disk.writeCount());
    assertEquals(1, disk.flushCount());
  }

  @Test
  void contentSnapshotShowsUnflushedWritesAndWorksAfterClose() throws IOException {
    write(disk, 1024, filled(512, 6));
    disk.close();
    byte[] snapshot = disk.contentSnapshot();
    assertEquals(4 * MIB, snapshot.length);
    assertEquals(6, snapshot[1024]);
    assertEquals(0, snapshot[1023]);
  }

  // ---------------------------------------------------------------- faults

  @Test
  void failNextWritesFailsThatManyWritesAndWritesNothing() throws IOException {
    disk.failNextWrites(2, "injected: medium error");
    ByteBuffer src = ByteBuffer.wrap(filled(512, 1));
    IOException e = assertThrows(IOException.class, () -> disk.write(0, src));
    assertEquals("injected: medium error", e.getMessage());
    assertEquals(0, src.position());
    assertThrows(IOException.class, () -> disk.write(0, src));
    assertArrayEquals(new byte[512], read(disk, 0, 512));
    write(disk, 0, filled(512, 1));
    assertArrayEquals(filled(512, 1), read(disk, 0, 512));
  }

  @Test
  void failNextWritesWithASupplierThrowsThatException() {
    disk.failNextWrites(1, () -> new AccessDeniedException("d"));
    assertThrows(AccessDeniedException.class, () -> disk.write(0, ByteBuffer.allocate(512)));
  }

  @Test
  void failNextWritesWithZeroDisarms() throws IOException {
    disk.failNextWrites(5, "x");
    disk.failNextWrites(0, "x");
    write(disk, 0, filled(512, 1));
    assertThrows(IllegalArgumentException.class, () -> disk.failNextWrites(-1, "x"));
  }

  @Test
  void failedFlushMakesNothingDurable() throws IOException {
    write(disk, 0, filled(512, 1));
    disk.failNextFlushes(1, "injected flush failure");
    assertThrows(IOException.class, disk::flush);
    assertTrue(disk.hasUnflushedWrites());
    disk.simulateCrash();
    assertArrayEquals(new byte[512], read(disk, 0, 512));
  }

  @Test
  void failedReadReadsNothing() throws IOException {
    disk.failNextReads(1, "injected read failure");
    ByteBuffer dst = ByteBuffer.allocate(512);
    assertThrows(IOException.class, () -> disk.read(0, dst));
    assertEquals(0, dst.position());
    disk.read(0, dst);
  }

  @Test
  void fullDiskFailsTheWriteWithNothingWritten() throws IOException {
    disk.setCapacityBytes(2L * CHUNK);
    write(disk, 0, filled(512, 1));
    write(disk, CHUNK, filled(512, 1));
    write(disk, 512, filled(512, 2)); // fits: the chunk exists
    ByteBuffer src = ByteBuffer.wrap(filled(1024, 3));
    IOException e = assertThrows(IOException.class, () -> disk.write(2 * CHUNK - 512, src));
    assertTrue(e.getMessage().startsWith("no space left"), e.getMessage());
    assertEquals(0, src.position());
    assertArrayEquals(new byte[512], read(disk, 2 * CHUNK - 512, 512),
        "the part that would fit in an existing chunk is not written either");
    disk.setCapacityBytes(Long.MAX_VALUE);
    write(disk, 2 * CHUNK - 512, filled(1024, 3));
  }

  @Test
  void flushedZerosGiveSpaceBack() throws IOException {
    disk.setCapacityBytes(CHUNK);
    write(disk, 0, filled(512, 1));
    assertThrows(IOException.class, () -> disk.write(CHUNK, ByteBuffer.wrap(filled(512, 1))));
    disk.trim(0, CHUNK);
    disk.flush();
    write(disk, CHUNK, filled(512, 1));
  }

  // ---------------------------------------------------------------- concurrency

  @Test
  void concurrentWritersAndReadersSeeWholeWrites() throws Exception {
    InMemoryVirtualDisk shared = InMemoryVirtualDisk.create(DiskSpec.dynamic(MIB));
    int writers = 4;
    int sectorsEach = 64;
    List<Thread> threads = new ArrayList<>();
    List<Throwable> failures = new ArrayList<>();
    for (int w = 0; w < writers; w++) {
      int id = w;
      threads.add(new Thread(() -> {
        try {
          InMemoryVirtualDisk handle = shared.openAnotherHandle(false);
          for (int round = 1; round <= 50; round++) {
            for (int s = 0; s < sectorsEach; s++) {
              long offset = (long) (id * sectorsEach + s) * 4096;
              handle.write(offset, ByteBuffer.wrap(filled(4096, round)));
              byte[] back = read(handle, offset, 4096);
              // Each 4 KiB write is seen whole: no other thread writes this block.
              assertArrayEquals(filled(4096, round), back);
            }
          }
          handle.close();
        } catch (Throwable t) {
          synchronized (failures) {
            failures.add(t);
          }
        }
      }));
    }
    threads.forEach(Thread::start);
    for (Thread thread : threads) {
      thread.join();
    }
    if (!failures.isEmpty()) {
      throw new AssertionError("a writer failed", failures.get(0));
    }
    byte[] content = shared.contentSnapshot();
    for (int block = 0; block < writers * sectorsEach; block++) {
      assertEquals(50, content[block * 4096]);
    }
    assertEquals((long) writers * sectorsEach * 50 * 4096, shared.bytesWritten());
  }

  @Test
  void createRejectsBlankNames() {
    assertThrows(IllegalArgumentException.class,
        () -> InMemoryVirtualDisk.create(" ", DiskSpec.dynamic(MIB)));
  }

  @Test
  void openAnotherHandleOfANewDiskIsNotTheSameHandle() throws IOException {
    InMemoryVirtualDisk other = disk.openAnotherHandle(false);
    assertFalse(other == disk);
    assertSame(disk.spec(), other.spec());
    assertEquals("d", other.name());
  }
}
