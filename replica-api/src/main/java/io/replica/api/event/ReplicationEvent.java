package io.replica.api.event;

import io.replica.api.HealthState;
import io.replica.api.ReplicationHealth;
import io.replica.api.ReplicationMode;
import io.replica.api.ReplicationState;
import io.replica.api.VmId;
import java.time.Duration;
import java.time.Instant;

/** Something that happened to one replication relationship. */
public sealed interface ReplicationEvent {

  /** The machine. */
  VmId vm();

  /** When, on the engine's clock. */
  Instant time();

  /** The relationship changed state. */
  record StateChanged(VmId vm, Instant time, ReplicationMode mode, ReplicationState from,
      ReplicationState to, String reason) implements ReplicationEvent {}

  /** Initial replication progressed. */
  record InitialReplicationProgress(VmId vm, Instant time, long bytesDone, long bytesTotal)
      implements ReplicationEvent {}

  /** The primary cut a cycle: {@code blocks} tracking blocks of the machine as they were at {@code cutTime}. */
  record CycleStarted(VmId vm, Instant time, long cycle, Instant cutTime, long blocks)
      implements ReplicationEvent {}

  /**
   * A cycle completed: on the primary when the replica acknowledged it, on the replica when it was
   * applied.
   */
  record CycleCompleted(VmId vm, Instant time, ReplicationMode mode, long cycle, long blocks,
      long payloadBytes, Duration latency) implements ReplicationEvent {}

  /** A cycle could not start on time. */
  record CycleMissed(VmId vm, Instant time, String reason) implements ReplicationEvent {}

  /** A cycle or a connection failed; replication retries. */
  record ReplicationFailed(VmId vm, Instant time, String reason) implements ReplicationEvent {}

  /** The health level changed. */
  record HealthChanged(VmId vm, Instant time, HealthState from, ReplicationHealth health)
      implements ReplicationEvent {}
}
