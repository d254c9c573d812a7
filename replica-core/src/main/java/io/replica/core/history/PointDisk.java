package io.replica.core.history;

import io.replica.api.DiskId;
import io.replica.api.NotFoundException;
import io.replica.api.RecoveryPoint;
import io.replica.core.tracking.ForwardingDisk;
import io.replica.spi.storage.ByteRange;
import io.replica.spi.storage.VirtualDisk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.ReadOnlyFileSystemException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.LongSupplier;
import org.jspecify.annotations.Nullable;

/**
 * A read-only disk at a recovery point: the latest reads the replica disk, an older one the undo
 * logs too. Reads hold the point lock for reading, so a cycle never applies under them.
 */
public final class PointDisk extends ForwardingDisk {
  private final UndoHistory history;
  private final ReentrantReadWriteLock pointLock;
  private final RecoveryPoint point;
  private final UndoHistory.@Nullable Point kept;
  private final DiskId id;
  /** The replica's latest applied cycle: a view of the latest point ends when it moves on. */
  private final LongSupplier lastApplied;

  /**
   * @param kept the undo logs' point for an older point; null for the latest, read from {@code disk}
   */
  public PointDisk(VirtualDisk disk, UndoHistory history, ReentrantReadWriteLock pointLock, RecoveryPoint point,
      UndoHistory.@Nullable Point kept, DiskId id, LongSupplier lastApplied) {
    super(disk);
    this.history = history;
    this.pointLock = pointLock;
    this.point = point;
    this.kept = kept;
    this.id = id;
    this.lastApplied = lastApplied;
  }

  @Override
  public boolean isReadOnly() {
    return true;
  }

  @Override
  public void read(long offsetBytes, ByteBuffer dst) throws IOException {
    pointLock.readLock().lock();
    try {
      if (kept != null) {
        history.read(kept, id, offsetBytes, dst);
        return;
      }
      long latest = lastApplied.getAsLong();
      if (latest != point.cycle()) {
        throw new NotFoundException("recovery point of cycle " + point.cycle() + " of virtual machine "
            + point.vm() + " was replaced by cycle " + latest);
      }
      disk.read(offsetBytes, dst);
    } finally {
      pointLock.readLock().unlock();
    }
  }

  @Override
  public void write(long offsetBytes, ByteBuffer src) {
    throw new ReadOnlyFileSystemException();
  }

  @Override
  public void flush() {}

  @Override
  public List<ByteRange> allocatedRanges() throws IOException {
    return kept == null ? new ArrayList<>(disk.allocatedRanges()) : List.of(new ByteRange(0, disk.sizeBytes()));
  }

  @Override
  public String toString() {
    return "disk " + id + " of " + point.vm() + " at cycle " + point.cycle();
  }
}
