package io.replica.testkit.memory;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The space that the disks of one {@link InMemoryDiskStore} share, so that a test can fill the
 * "volume" and see the engine handle a disk-full error.
 */
final class StorageSpace {
  private final AtomicLong usedBytes = new AtomicLong();
  private volatile long capacityBytes = Long.MAX_VALUE;

  long usedBytes() {
    return usedBytes.get();
  }

  long capacityBytes() {
    return capacityBytes;
  }

  void setCapacityBytes(long capacityBytes) {
    if (capacityBytes < 0) {
      throw new IllegalArgumentException(
          "capacity " + capacityBytes + " bytes is invalid; pass zero or more bytes"
              + " (Long.MAX_VALUE for no limit)");
    }
    this.capacityBytes = capacityBytes;
  }

  /** Takes {@code bytes} if they fit under the capacity; returns false (and takes nothing) if not. */
  boolean tryReserve(long bytes) {
    while (true) {
      long used = usedBytes.get();
      if (used + bytes > capacityBytes) {
        return false;
      }
      if (usedBytes.compareAndSet(used, used + bytes)) {
        return true;
      }
    }
  }

  void release(long bytes) {
    usedBytes.addAndGet(-bytes);
  }
}
