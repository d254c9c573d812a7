package io.replica.core.tracking;

import java.io.IOException;
import java.nio.ByteBuffer;

/** The view of a replicated disk that guest I/O goes through: writes are tracked. */
final class TrackedDisk extends ForwardingDisk {
  private final VmTracker vm;
  private final DiskTracker tracker;

  TrackedDisk(VmTracker vm, DiskTracker tracker) {
    super(tracker.disk);
    this.vm = vm;
    this.tracker = tracker;
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
  public void trim(long offsetBytes, long lengthBytes) throws IOException {
    long stamp = vm.cutLock.readLock();
    try {
      tracker.beforeWrite(offsetBytes, lengthBytes);
      disk.trim(offsetBytes, lengthBytes);
    } finally {
      vm.cutLock.unlockRead(stamp);
    }
  }
}
