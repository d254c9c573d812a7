package io.replica.testkit.memory;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.fail;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.lists;

import io.replica.spi.storage.ByteRange;
import io.replica.spi.storage.DiskSpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.quicktheories.core.Gen;

/** Random sequences of writes, trims, flushes and crashes against a plain byte-array model. */
class InMemoryVirtualDiskProperties {
  private static final int SECTOR = 512;
  private static final int SIZE = 300 * 1024; // four full chunks and a partial one
  private static final int SECTORS = SIZE / SECTOR;

  enum Kind { WRITE, TRIM, FLUSH, CRASH, READ }

  record Op(Kind kind, int sector, int count, int value) {
    @Override
    public String toString() {
      return kind + "(" + sector + "+" + count + "=" + value + ")";
    }
  }

  private static Gen<Op> ops() {
    Gen<Kind> kinds = integers().between(0, 9).map(i -> i < 5 ? Kind.WRITE
        : i == 5 ? Kind.TRIM : i == 6 ? Kind.FLUSH : i == 7 ? Kind.CRASH : Kind.READ);
    return kinds.zip(integers().between(0, SECTORS - 1), integers().between(1, 300),
        integers().between(0, 255), Op::new);
  }

  @Test
  void behavesLikeAByteArrayWithADurableCopy() {
    qt().withExamples(200).forAll(lists().of(ops()).ofSizeBetween(1, 60)).checkAssert(script -> {
      try {
        run(script);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    });
  }

  private static void run(List<Op> script) throws IOException {
    InMemoryVirtualDisk disk = InMemoryVirtualDisk.create(DiskSpec.dynamic(SIZE));
    byte[] current = new byte[SIZE];
    byte[] durable = new byte[SIZE];
    for (Op op : script) {
      int offset = op.sector() * SECTOR;
      int length = Math.min(op.count(), SECTORS - op.sector()) * SECTOR;
      switch (op.kind()) {
        case WRITE -> {
          byte[] data = new byte[length];
          Arrays.fill(data, (byte) op.value());
          disk.write(offset, ByteBuffer.wrap(data));
          System.arraycopy(data, 0, current, offset, length);
        }
        case TRIM -> {
          disk.trim(offset, length);
          Arrays.fill(current, offset, offset + length, (byte) 0);
        }
        case FLUSH -> {
          disk.flush();
          System.arraycopy(current, 0, durable, 0, SIZE);
        }
        case CRASH -> {
          disk.simulateCrash();
          System.arraycopy(durable, 0, current, 0, SIZE);
        }
        case READ -> {
          ByteBuffer dst = ByteBuffer.allocate(length);
          disk.read(offset, dst);
          assertArrayEquals(Arrays.copyOfRange(current, offset, offset + length), dst.array());
        }
      }
      checkAllocatedRangesCoverData(disk, current);
    }
    assertArrayEquals(current, disk.contentSnapshot());
  }

  private static void checkAllocatedRangesCoverData(InMemoryVirtualDisk disk, byte[] content)
      throws IOException {
    List<ByteRange> ranges = disk.allocatedRanges();
    boolean[] covered = new boolean[SIZE];
    long previousEnd = -1;
    for (ByteRange range : ranges) {
      if (range.offsetBytes() <= previousEnd || range.endBytes() > SIZE) {
        fail("ranges must be ascending, disjoint, merged and inside the disk: " + ranges);
      }
      previousEnd = range.endBytes();
      Arrays.fill(covered, (int) range.offsetBytes(), (int) range.endBytes(), true);
    }
    for (int i = 0; i < SIZE; i++) {
      if (content[i] != 0 && !covered[i]) {
        fail("non-zero byte " + i + " lies outside the allocated ranges " + ranges);
      }
    }
    if (countChunks(ranges) > disk.allocatedBytes() / (64 * 1024)) {
      fail("reported chunks must hold memory: " + ranges + ", " + disk.allocatedBytes());
    }
  }

  private static long countChunks(List<ByteRange> ranges) {
    long chunks = 0;
    for (ByteRange range : ranges) {
      chunks += (range.lengthBytes() + 64 * 1024 - 1) / (64 * 1024);
    }
    return chunks;
  }
}
