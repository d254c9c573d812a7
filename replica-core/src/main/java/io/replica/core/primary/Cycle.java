package io.replica.core.primary;

import io.replica.api.DiskId;
import io.replica.api.RecoveryPointType;
import io.replica.core.tracking.BlockSet;
import io.replica.core.tracking.DiskTracker;
import io.replica.core.verify.ContentChecksum;
import io.replica.spi.transport.Message;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/** The cycle in transfer. */
final class Cycle {
  final long number;
  final long base;
  final Instant cutTime;
  final long cutNanos;
  final long totalBytes;
  final List<DiskTracker> disks;
  final ContentChecksum checksum = new ContentChecksum();
  final @Nullable RecoveryPointType point;
  /** Blocks go only where the replica's hash differs. */
  final boolean resync;
  /** The first full copy (or full comparison) of the relationship. */
  boolean initial;
  /** Per disk, for a resync: hashes received, by offset, and the requests made. */
  final Map<DiskId, java.util.TreeMap<Long, Message.HashResponse>> hashes = new HashMap<>();
  final Map<DiskId, HashPlan> hashed = new HashMap<>();
  long skippedBytes;
  int disk;
  long doneBytes;
  /** When this cycle last moved: cut, a message sent. */
  long progressNanos;
  long reportedPercent = -1;
  boolean sentAll;
  /** Written to media for import rather than sent. */
  boolean exported;
  /** While an export to media runs: where it goes, and the disk being written. */
  io.replica.spi.storage.@Nullable StorageLocation media;
  io.replica.spi.storage.@Nullable VirtualDisk exportDisk;

  Cycle(long number, long base, Instant cutTime, long cutNanos, long totalBytes, List<DiskTracker> disks,
      @Nullable RecoveryPointType point, boolean resync) {
    this.point = point;
    this.resync = resync;
    this.number = number;
    this.base = base;
    this.cutTime = cutTime;
    this.cutNanos = cutNanos;
    this.progressNanos = cutNanos;
    this.totalBytes = totalBytes;
    this.disks = disks;
  }

  /** The hash requests of one disk in a resync cycle: the runs asked for, in order, and how far answered. */
  static final class HashPlan {
    final BlockSet.Cursor blocks;
    long lookahead = -1;
    final java.util.ArrayDeque<long[]> requested = new java.util.ArrayDeque<>();
    long answered;

    HashPlan(BlockSet.Cursor blocks) {
      this.blocks = blocks;
    }
  }
}
