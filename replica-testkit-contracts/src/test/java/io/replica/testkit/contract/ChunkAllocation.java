package io.replica.testkit.contract;

import io.replica.spi.storage.ByteRange;
import io.replica.spi.storage.VirtualDisk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;

/**
 * An allocation map of 64 KiB chunks kept in memory, as a broken disk might keep it instead of
 * deriving it from its own metadata; the self-tests lose or reset it where a real bug would.
 */
final class ChunkAllocation {

  private static final int CHUNK = 64 * 1024;

  private final BitSet chunks = new BitSet();

  synchronized void mark(long offsetBytes, long lengthBytes) {
    if (lengthBytes > 0) {
      chunks.set((int) (offsetBytes / CHUNK), (int) ((offsetBytes + lengthBytes - 1) / CHUNK) + 1);
    }
  }

  synchronized ChunkAllocation copy() {
    ChunkAllocation copy = new ChunkAllocation();
    copy.chunks.or(chunks);
    return copy;
  }

  synchronized List<ByteRange> ranges(long sizeBytes) {
    List<ByteRange> ranges = new ArrayList<>();
    for (int start = chunks.nextSetBit(0); start >= 0; ) {
      int end = chunks.nextClearBit(start);
      long from = (long) start * CHUNK;
      long to = Math.min((long) end * CHUNK, sizeBytes);
      ranges.add(new ByteRange(from, to - from));
      start = chunks.nextSetBit(end);
    }
    return ranges;
  }

  /** A disk that reports {@code allocation} and marks in it what is written through it. */
  static VirtualDisk reporting(VirtualDisk disk, ChunkAllocation allocation) {
    return new ForwardingDisk(disk) {
      @Override
      public void write(long offsetBytes, ByteBuffer src) throws IOException {
        int length = src.remaining();
        delegate.write(offsetBytes, src);
        allocation.mark(offsetBytes, length);
      }

      @Override
      public List<ByteRange> allocatedRanges() throws IOException {
        delegate.allocatedRanges(); // keeps D1.6: a closed disk refuses the call
        return allocation.ranges(sizeBytes());
      }
    };
  }
}
