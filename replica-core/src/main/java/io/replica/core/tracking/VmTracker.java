package io.replica.core.tracking;

import io.replica.api.ChangeTracker;
import io.replica.api.DiskId;
import io.replica.api.NotFoundException;
import io.replica.api.VmId;
import io.replica.spi.storage.StateStore;
import io.replica.spi.storage.VirtualDisk;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.StampedLock;

/**
 * Change tracking for every replicated disk of one machine. One lock orders guest writes against
 * cuts across all disks, so a cut is one instant for the whole machine.
 */
public final class VmTracker implements ChangeTracker {
  private final VmId vm;
  private final int blockSize;
  /** Guest writes hold it shared; a cut holds it exclusively (StampedLock: the cheapest shared lock). */
  final StampedLock cutLock = new StampedLock();
  private final Map<DiskId, DiskTracker> disks = new LinkedHashMap<>();
  private final Map<DiskId, TrackedDisk> views = new LinkedHashMap<>();
  private volatile long openGeneration;

  /**
   * Tracks {@code replicated}; copy-before-write keeps up to {@code preserveMemoryBytes} of old
   * block contents in memory for the whole machine and spills the rest to logs named
   * {@code spillPrefix/<disk>} in {@code spillStore} (in memory too without one).
   */
  public VmTracker(VmId vm, int blockSize, Map<DiskId, VirtualDisk> replicated, long preserveMemoryBytes,
      @org.jspecify.annotations.Nullable StateStore spillStore, String spillPrefix) {
    this(vm, blockSize, replicated, preserveMemoryBytes, spillStore, spillPrefix, null);
  }

  /** With an activity log, the extents written since the last acknowledgement survive a crash. */
  public VmTracker(VmId vm, int blockSize, Map<DiskId, VirtualDisk> replicated, long preserveMemoryBytes,
      @org.jspecify.annotations.Nullable StateStore spillStore, String spillPrefix,
      @org.jspecify.annotations.Nullable ActivityLog activity) {
    this.vm = vm;
    this.blockSize = blockSize;
    AtomicLong budget = new AtomicLong(preserveMemoryBytes);
    replicated.forEach((id, disk) -> {
      DiskTracker t = new DiskTracker(id, disk, blockSize,
          new PreservedBlocks(budget, spillStore, spillPrefix + "/" + id), activity);
      disks.put(id, t);
      views.put(id, new TrackedDisk(this, t));
    });
  }

  @Override
  public VmId vm() {
    return vm;
  }

  @Override
  public int trackingBlockSizeBytes() {
    return blockSize;
  }

  @Override
  public VirtualDisk trackedDisk(DiskId disk) {
    TrackedDisk d = views.get(disk);
    if (d == null) {
      throw new NotFoundException(
          "disk " + disk + " of virtual machine " + vm + " is not replicated; replicated disks: "
              + views.keySet());
    }
    return d;
  }

  @Override
  public long openGeneration() {
    return openGeneration;
  }

  @Override
  public long pendingBytes() {
    long bytes = 0;
    for (DiskTracker t : disks.values()) {
      bytes += t.pendingBlocks() * blockSize;
    }
    return bytes;
  }

  public List<DiskTracker> disks() {
    return Collections.unmodifiableList(new ArrayList<>(disks.values()));
  }

  /** What a cut freezes besides the blocks written since the last one. */
  public enum CutScope {
    /** Only the blocks written since the previous cut. */
    CHANGES,
    /** Also every allocated block: initial replication to an empty replica. */
    ALLOCATED,
    /** Every block, zeros included: a full copy over a replica that already holds data. */
    EVERY_BLOCK
  }

  /**
   * Freezes the open generation of every disk at one instant, with the extra blocks {@code scope}
   * asks for (found before the lock; writes after that are dirty anyway). Returns the number of
   * frozen blocks.
   */
  public long cut(CutScope scope) throws IOException {
    Map<DiskId, BlockSet> extra = new LinkedHashMap<>();
    for (DiskTracker t : disks.values()) {
      if (scope == CutScope.ALLOCATED) {
        extra.put(t.id, t.allocatedBlocks());
      } else if (scope == CutScope.EVERY_BLOCK) {
        BlockSet all = new BlockSet(t.blockCount);
        all.addRange(0, t.blockCount);
        extra.put(t.id, all);
      }
    }
    long blocks = 0;
    long stamp = cutLock.writeLock();
    try {
      for (DiskTracker t : disks.values()) {
        blocks += t.cut(extra.get(t.id));
      }
      openGeneration++;
    } finally {
      cutLock.unlockWrite(stamp);
    }
    return blocks;
  }

  public void cycleAcknowledged() {
    disks.values().forEach(DiskTracker::cycleAcknowledged);
  }

  /**
   * Lets extents whose changes the replica acknowledged cool in the activity log. A failure leaves
   * the durable log with more hot extents than needed, which only costs work after a crash.
   */
  public void cool() throws IOException {
    IOException first = null;
    for (DiskTracker t : disks.values()) {
      try {
        t.cool();
      } catch (IOException e) {
        first = first == null ? e : first;
      }
    }
    if (first != null) {
      throw first;
    }
  }

  /** Marks dirty the extents a previous run of this host left hot. */
  public void restoreHotExtents(Map<DiskId, long[]> hot) {
    hot.forEach((id, extents) -> {
      DiskTracker t = disks.get(id);
      if (t != null) {
        t.markExtentsDirty(extents);
      }
    });
  }

  public void cycleFailed() {
    disks.values().forEach(DiskTracker::cycleFailed);
  }

  /** Bytes copy-before-write spilled to its logs during the cycle in flight. */
  long spilledBytes() {
    long n = 0;
    for (DiskTracker t : disks.values()) {
      n += t.spilledBytes();
    }
    return n;
  }

  public void release() {
    disks.values().forEach(DiskTracker::release);
  }

  /** The engine closes: the copy-before-write spill logs of the cycle in flight close with it. */
  public void closeSpills() {
    disks.values().forEach(DiskTracker::closeSpill);
  }

  /** See {@link Mutation#COPY_BEFORE_WRITE_SKIPPED}. */
  public void skipCopyBeforeWrite() {
    disks.values().forEach(DiskTracker::skipCopyBeforeWrite);
  }

  /** Whether an activity log lets tracking survive a crash of this host. */
  public boolean tracksCrashes() {
    return disks.values().stream().anyMatch(DiskTracker::tracksCrashes);
  }

  /** Makes every write to the replicated disks so far durable. */
  public void flush() throws IOException {
    for (DiskTracker t : disks.values()) {
      t.disk.flush();
    }
  }

}
