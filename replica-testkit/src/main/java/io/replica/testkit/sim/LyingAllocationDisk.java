package io.replica.testkit.sim;

import io.replica.spi.storage.ByteRange;
import io.replica.spi.storage.VirtualDisk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * A disk whose {@link #allocatedRanges()} leaves out one range that holds data: storage that lies
 * about its allocation, so that an initial replication trusting it leaves that data behind without
 * an error. Everything else goes to the real disk.
 */
final class LyingAllocationDisk implements VirtualDisk {
  private final VirtualDisk disk;
  private final long hiddenFrom;
  private final long hiddenTo;

  LyingAllocationDisk(VirtualDisk disk, long hiddenOffsetBytes, long hiddenLengthBytes) {
    this.disk = disk;
    this.hiddenFrom = hiddenOffsetBytes;
    this.hiddenTo = hiddenOffsetBytes + hiddenLengthBytes;
  }

  @Override
  public List<ByteRange> allocatedRanges() throws IOException {
    List<ByteRange> out = new ArrayList<>();
    for (ByteRange r : disk.allocatedRanges()) {
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

  @Override
  public long sizeBytes() {
    return disk.sizeBytes();
  }

  @Override
  public int logicalSectorSizeBytes() {
    return disk.logicalSectorSizeBytes();
  }

  @Override
  public boolean isReadOnly() {
    return disk.isReadOnly();
  }

  @Override
  public void read(long offsetBytes, ByteBuffer dst) throws IOException {
    disk.read(offsetBytes, dst);
  }

  @Override
  public void write(long offsetBytes, ByteBuffer src) throws IOException {
    disk.write(offsetBytes, src);
  }

  @Override
  public void flush() throws IOException {
    disk.flush();
  }

  @Override
  public void trim(long offsetBytes, long lengthBytes) throws IOException {
    disk.trim(offsetBytes, lengthBytes);
  }

  @Override
  public void close() throws IOException {
    disk.close();
  }
}
