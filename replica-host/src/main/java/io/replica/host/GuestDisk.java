package io.replica.host;

import io.replica.spi.storage.ByteRange;
import io.replica.spi.storage.VirtualDisk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * The disk a guest (through NBD) writes to: the machine's own disk while it does not replicate,
 * its tracked disk while it does. The switch waits for I/O in flight, so no write reaches the
 * untracked disk once replication is enabled, and clients stay connected across it.
 */
final class GuestDisk implements VirtualDisk {
  private final VirtualDisk own;
  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
  private volatile VirtualDisk target;

  GuestDisk(VirtualDisk own) {
    this.own = own;
    this.target = own;
  }

  /** Routes I/O through {@code disk} (the tracked disk) from the next request on. */
  void switchTo(VirtualDisk disk) {
    lock.writeLock().lock();
    try {
      target = disk;
    } finally {
      lock.writeLock().unlock();
    }
  }

  /** Routes I/O to the machine's own disk again. */
  void untrack() {
    switchTo(own);
  }

  boolean tracked() {
    return target != own;
  }

  VirtualDisk own() {
    return own;
  }

  @Override
  public long sizeBytes() {
    return own.sizeBytes();
  }

  @Override
  public int logicalSectorSizeBytes() {
    return own.logicalSectorSizeBytes();
  }

  @Override
  public boolean isReadOnly() {
    return own.isReadOnly();
  }

  @Override
  public void read(long offsetBytes, ByteBuffer dst) throws IOException {
    lock.readLock().lock();
    try {
      target.read(offsetBytes, dst);
    } finally {
      lock.readLock().unlock();
    }
  }

  @Override
  public void write(long offsetBytes, ByteBuffer src) throws IOException {
    lock.readLock().lock();
    try {
      target.write(offsetBytes, src);
    } finally {
      lock.readLock().unlock();
    }
  }

  @Override
  public void flush() throws IOException {
    lock.readLock().lock();
    try {
      target.flush();
    } finally {
      lock.readLock().unlock();
    }
  }

  @Override
  public List<ByteRange> allocatedRanges() throws IOException {
    lock.readLock().lock();
    try {
      return target.allocatedRanges();
    } finally {
      lock.readLock().unlock();
    }
  }

  @Override
  public void trim(long offsetBytes, long lengthBytes) throws IOException {
    lock.readLock().lock();
    try {
      target.trim(offsetBytes, lengthBytes);
    } finally {
      lock.readLock().unlock();
    }
  }

  @Override
  public void close() throws IOException {
    own.close();
  }
}
