package io.replica.core.internal;

import io.replica.spi.storage.ByteRange;
import io.replica.spi.storage.VirtualDisk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

/** The view of a replicated disk that guest I/O goes through: writes are tracked. */
final class TrackedDisk implements VirtualDisk {
  private final VmTracker vm;
  private final DiskTracker tracker;
  private final VirtualDisk disk;

  TrackedDisk(VmTracker vm, DiskTracker tracker) {
    this.vm = vm;
    this.tracker = tracker;
    this.disk = tracker.disk;
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
    int length = src.remaining();
    // Reject bad input before any state changes; the disk would reject it too, but after we marked it.
    int sector = disk.logicalSectorSizeBytes();
    if (offsetBytes < 0 || length == 0 || offsetBytes % sector != 0 || length % sector != 0
        || offsetBytes + length > disk.sizeBytes()) {
      throw new IllegalArgumentException(
          "write of " + length + " bytes at offset " + offsetBytes + " to disk " + tracker.id
              + " is invalid: offset and length must be positive multiples of the " + sector
              + "-byte sector inside the disk's " + disk.sizeBytes() + " bytes");
    }
    long stamp = vm.cutLock.readLock();
    try {
      tracker.beforeWrite(offsetBytes, length);
      disk.write(offsetBytes, src);
    } finally {
      vm.cutLock.unlockRead(stamp);
    }
  }

  @Override
  public void flush() throws IOException {
    disk.flush();
  }

  @Override
  public List<ByteRange> allocatedRanges() throws IOException {
    return disk.allocatedRanges();
  }

  @Override
  public void trim(long offsetBytes, long lengthBytes) throws IOException {
    long stamp = vm.cutLock.readLock();
    try {
      tracker.beforeWrite(offsetBytes, lengthBytes);
      disk.trim(offsetBytes, lengthBytes);
    } finally {
      vm.cutLock.unlockRead(stamp);
    }
  }

  /** The embedder owns the underlying disk; closing the view does not close it. */
  @Override
  public void close() {}
}
