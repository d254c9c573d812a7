package io.replica.core.failover;

import io.replica.core.tracking.BlockSet;
import io.replica.core.tracking.ForwardingDisk;
import io.replica.spi.storage.VirtualDisk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.jspecify.annotations.Nullable;

/**
 * The disk of a machine that failed over to this host, as its embedder runs it. Until reverse
 * replication starts, the blocks written are remembered so that it compares only them (with the
 * other side's changes); from then on writes go through the reverse replication's change
 * tracking, so the embedder keeps one disk object across the switch.
 */
public final class FailedOverDisk extends ForwardingDisk {
  private final int shift;
  private final BlockSet written;
  /** Writes hold it shared; the hand-over holds it exclusively, so no write is lost in between. */
  private final ReentrantReadWriteLock handOver = new ReentrantReadWriteLock();
  private @Nullable VirtualDisk tracked;

  /** {@code changed}: blocks already known to differ from the point both sides shared; added to. */
  public FailedOverDisk(VirtualDisk disk, int blockSize, BlockSet changed) {
    super(disk);
    this.shift = Integer.numberOfTrailingZeros(blockSize);
    this.written = changed;
  }

  @Override
  public void write(long offsetBytes, ByteBuffer src) throws IOException {
    handOver.readLock().lock();
    try {
      VirtualDisk t = tracked;
      if (t != null) {
        t.write(offsetBytes, src);
        return;
      }
      remember(offsetBytes, src.remaining());
      disk.write(offsetBytes, src);
    } finally {
      handOver.readLock().unlock();
    }
  }

  @Override
  public void trim(long offsetBytes, long lengthBytes) throws IOException {
    handOver.readLock().lock();
    try {
      VirtualDisk t = tracked;
      if (t != null) {
        t.trim(offsetBytes, lengthBytes);
        return;
      }
      remember(offsetBytes, lengthBytes);
      disk.trim(offsetBytes, lengthBytes);
    } finally {
      handOver.readLock().unlock();
    }
  }

  private void remember(long offsetBytes, long lengthBytes) {
    if (offsetBytes < 0 || lengthBytes <= 0 || offsetBytes + lengthBytes > disk.sizeBytes()) {
      return; // the disk refuses it and nothing changes
    }
    synchronized (written) {
      written.addRange(offsetBytes >>> shift, ((offsetBytes + lengthBytes - 1) >>> shift) + 1);
    }
  }

  /**
   * Reverse replication did not start: writes are remembered here again, together with
   * {@code since()}, the blocks the view tracked meanwhile (read once no write is under way).
   */
  public void takeBack(java.util.function.Supplier<BlockSet> since) {
    handOver.writeLock().lock();
    try {
      synchronized (written) {
        written.addAll(since.get());
      }
      tracked = null;
    } finally {
      handOver.writeLock().unlock();
    }
  }

  /** From now on writes go to {@code view}; returns the blocks changed until now. */
  public BlockSet handOver(VirtualDisk view) {
    handOver.writeLock().lock();
    try {
      tracked = view;
      synchronized (written) {
        return written;
      }
    } finally {
      handOver.writeLock().unlock();
    }
  }
}
