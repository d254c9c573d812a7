package io.replica.core.replica;

import io.replica.api.DiskId;
import io.replica.api.RecoveryPointType;
import io.replica.core.journal.CycleJournal;
import io.replica.core.tracking.BlockSet;
import io.replica.core.verify.ContentChecksum;
import io.replica.spi.transport.Connection;
import java.time.Instant;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/** A cycle being received. */
final class Receiving {
  final Connection from;
  final long cycle;
  final Instant cutTime;
  final @Nullable RecoveryPointType point;
  final @Nullable CycleJournal journal;
  final ContentChecksum checksum = new ContentChecksum();
  boolean resync;
  /** For a first copy written in place: the tracking blocks it wrote, per disk. */
  @Nullable Map<DiskId, BlockSet> inPlace;

  void wroteInPlace(DiskId disk, long diskBytes, long offset, long length, int block) {
    Map<DiskId, BlockSet> written = inPlace;
    if (written != null) {
      written.computeIfAbsent(disk, k -> new BlockSet((diskBytes + block - 1) / block))
          .addRange(offset / block, (offset + length + block - 1) / block);
    }
  }

  Receiving(Connection from, long cycle, Instant cutTime, @Nullable RecoveryPointType point,
      @Nullable CycleJournal journal) {
    this.from = from;
    this.point = point;
    this.cycle = cycle;
    this.cutTime = cutTime;
    this.journal = journal;
  }
}
