package io.replica.api;

/**
 * The state of one replication relationship, named as in Hyper-V.
 */
public enum ReplicationState {
  /** Enabled; initial replication has not started. */
  READY_FOR_INITIAL_REPLICATION,
  /** Initial replication is scheduled or running, or the replica awaits the first copy. */
  WAITING_FOR_INITIAL_REPLICATION,
  /** Cycles are replicating. */
  REPLICATING,
  /** The primary sent its final changes for a planned failover. */
  PREPARED_FOR_FAILOVER,
  /** The replica failed over and awaits commit or cancel. */
  FAILOVER_WAITING_COMPLETION,
  /** Failover is complete. */
  FAILED_OVER,
  /** Paused by an operator; changes are still tracked. */
  SUSPENDED,
  /** Replication cannot proceed; see the health reasons. */
  ERROR,
  /** The disks must be compared before replication can go on. */
  WAITING_FOR_START_RESYNCHRONIZE,
  /** The disks are being compared and the differences sent. */
  RESYNCHRONIZING,
  /** A resynchronization was paused. */
  RESYNCHRONIZE_SUSPENDED
}
