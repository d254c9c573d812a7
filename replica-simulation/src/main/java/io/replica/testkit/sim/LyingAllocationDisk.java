package io.replica.testkit.sim;

import io.replica.spi.storage.ByteRange;
import io.replica.spi.storage.VirtualDisk;
import io.replica.testkit.memory.ForwardingVirtualDisk;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * A disk whose {@link #allocatedRanges()} leaves out one range that holds data: storage that lies
 * about its allocation, so that an initial replication trusting it leaves that data behind without
 * an error. Everything else goes to the real disk.
 */
final class LyingAllocationDisk extends ForwardingVirtualDisk {
  private final long hiddenFrom;
  private final long hiddenTo;

  LyingAllocationDisk(VirtualDisk disk, long hiddenOffsetBytes, long hiddenLengthBytes) {
    super(disk);
    this.hiddenFrom = hiddenOffsetBytes;
    this.hiddenTo = hiddenOffsetBytes + hiddenLengthBytes;
  }

  @Override
  public List<ByteRange> allocatedRanges() throws IOException {
    List<ByteRange> out = new ArrayList<>();
    for (ByteRange r : delegate.allocatedRanges()) {
      long end = r.offsetBytes() + r.lengthBytes();
      if (r.offsetBytes() < hiddenFrom) {
        out.add(new ByteRange(r.offsetBytes(), Math.min(end, hiddenFrom) - r.offsetBytes()));
      }
      if (end > hiddenTo) {
        long from = Math.max(r.offsetBytes(), hiddenTo);
        out.add(new ByteRange(from, end - from));
      }
    }
    return out;
  }
}
