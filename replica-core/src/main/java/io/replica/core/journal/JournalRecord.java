package io.replica.core.journal;

import io.replica.api.DiskId;
import io.replica.api.RecoveryPointType;
import java.time.Instant;
import org.jspecify.annotations.Nullable;

/** One record of a replica's cycle journal. */
public sealed interface JournalRecord {

  /** The cycle starts; see {@link io.replica.spi.transport.Message.CycleBegin}. */
  record Begin(long cycle, long baseCycle, Instant cutTime, @Nullable RecoveryPointType point)
      implements JournalRecord {}

  /** Bytes of a disk at an offset. */
  record Block(DiskId disk, long offsetBytes, byte[] data) implements JournalRecord {}

  /** A range of a disk that reads as zeros. */
  record Zero(DiskId disk, long offsetBytes, long lengthBytes) implements JournalRecord {}

  /** The cycle is complete and checked; a journal without it is discarded on recovery. */
  record Commit(long messageCount, long payloadBytes, int contentCrc32c) implements JournalRecord {}
}
