package io.replica.api;

import io.replica.spi.storage.VirtualDisk;

/**
 * Tracks the writes to one virtual machine's replicated disks between cycles.
 *
 * <p>The embedder routes guest I/O through {@link #trackedDisk(DiskId)}; each write marks its
 * blocks dirty in the open generation. A cut freezes the open generation for every disk of the
 * machine at once, so one cycle is the whole machine at one instant, and a guest write to a frozen
 * block that was not sent yet first preserves the old content (copy-before-write).
 */
public interface ChangeTracker {

  /** The machine. */
  VmId vm();

  /** The tracking granularity in bytes. */
  int trackingBlockSizeBytes();

  /**
   * The view of a replicated disk to write through. Reads pass through; writes are tracked.
   *
   * @throws NotFoundException if the disk is not replicated
   */
  VirtualDisk trackedDisk(DiskId disk);

  /** The number of the open generation; the next cut freezes it. */
  long openGeneration();

  /** Bytes changed and not yet acknowledged by the replica, in whole tracking blocks. */
  long pendingBytes();
}
