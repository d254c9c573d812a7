package io.replica.testkit.sim;

/** What a simulation checks after every step (DESIGN §3). */
public enum Invariant {
  /** The replica's latest recovery point is byte-equal to the primary at the cut of that cycle. */
  REPLICA_EQUALS_ACKED_CUT,
  /** The replica applies each cycle once, in increasing order. */
  CYCLES_APPLIED_ONCE_IN_ORDER,
  /** A cycle the primary saw acknowledged survives a crash of the replica. */
  ACKED_DATA_DURABLE,
  /** A visible recovery point is never replaced by an older one or changed in place. */
  RECOVERY_POINTS_STABLE,
  /** Statistics agree with the events: successes, misses, the last acknowledged cycle. */
  STATISTICS_CONSISTENT,
  /** Once the faults stop, the replica catches up with the primary. */
  CONVERGES
}
