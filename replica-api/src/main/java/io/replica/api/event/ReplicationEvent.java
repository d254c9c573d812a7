package io.replica.api.event;

import io.replica.api.HealthState;
import io.replica.api.ReplicationHealth;
import io.replica.api.ReplicationMode;
import io.replica.api.ReplicationState;
import io.replica.api.VmId;
import java.time.Duration;
import java.time.Instant;

/**
 * Something that happened to one replication relationship (a {@link MachineEvent}), or to the
 * replication of this host as a whole (its certificate about to expire).
 */
public sealed interface ReplicationEvent {

  /** When: on the engine's clock, or for a host event on the clock of the part that raised it. */
  Instant time();

  /** An event of one virtual machine's relationship. */
  sealed interface MachineEvent extends ReplicationEvent {

    /** The machine. */
    VmId vm();
  }

  /** The relationship changed state. */
  record StateChanged(VmId vm, Instant time, ReplicationMode mode, ReplicationState from,
      ReplicationState to, String reason) implements MachineEvent {}

  /** Initial replication progressed. */
  record InitialReplicationProgress(VmId vm, Instant time, long bytesDone, long bytesTotal)
      implements MachineEvent {}

  /** The primary cut a cycle: {@code blocks} tracking blocks of the machine as they were at {@code cutTime}. */
  record CycleStarted(VmId vm, Instant time, long cycle, Instant cutTime, long blocks)
      implements MachineEvent {}

  /**
   * A cycle completed: on the primary when the replica acknowledged it, on the replica when it was
   * applied.
   */
  record CycleCompleted(VmId vm, Instant time, ReplicationMode mode, long cycle, long blocks,
      long payloadBytes, Duration latency) implements MachineEvent {}

  /** A cycle could not start on time. */
  record CycleMissed(VmId vm, Instant time, String reason) implements MachineEvent {}

  /** A cycle or a connection failed; replication retries. */
  record ReplicationFailed(VmId vm, Instant time, String reason) implements MachineEvent {}

  /**
   * An online verify of the replica completed ({@code ReplicationManager.verify}, or its schedule):
   * on the primary, with the ranges that differed. When some did, health is critical until the
   * resynchronization of exactly those ranges that the engine starts has completed.
   */
  record VerifyCompleted(VmId vm, Instant time, io.replica.api.VerificationResult result)
      implements MachineEvent {}

  /** The health level changed. */
  record HealthChanged(VmId vm, Instant time, HealthState from, ReplicationHealth health)
      implements MachineEvent {}

  /**
   * This host's certificate expires within the transport's warning window, or has expired: from
   * {@code notAfter} on, every peer refuses it and replication with certificates stops until it is
   * renewed. Raised when the transport starts, when a renewed certificate is still that short, and
   * when the periodic check finds it; a listener added later still receives the latest one.
   *
   * @param hostName the host whose certificate it is
   * @param subject the certificate's subject
   * @param notAfter when it expires
   * @param remaining how long until then, at {@code time} (negative once expired)
   */
  record CertificateExpiring(Instant time, String hostName, String subject, Instant notAfter,
      Duration remaining) implements ReplicationEvent {

    /** Whole days left at {@code time}; negative once expired. */
    public long daysLeft() {
      return remaining.toDays();
    }
  }
}
