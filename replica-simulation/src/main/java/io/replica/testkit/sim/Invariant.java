package io.replica.testkit.sim;

/** What a simulation checks after every step (DESIGN §3). */
public enum Invariant {
  /** The replica's latest recovery point is byte-equal to the primary at the cut of that cycle. */
  REPLICA_EQUALS_ACKED_CUT,
  /** The replica applies each cycle once, in increasing order. */
  CYCLES_APPLIED_ONCE_IN_ORDER,
  /** Every change of a relationship's state is one its role's state table allows. */
  STATE_CHANGES_IN_TABLE,
  /** A cycle the primary saw acknowledged survives a crash of the replica. */
  ACKED_DATA_DURABLE,
  /** A visible recovery point is never replaced by an older one or changed in place. */
  RECOVERY_POINTS_STABLE,
  /** Statistics agree with the events: successes, misses, the last acknowledged cycle. */
  STATISTICS_CONSISTENT,
  /** Once the faults stop, the replica catches up with the primary. */
  CONVERGES,
  /**
   * While both hosts run and the link between them is up, cycles keep being applied despite lost,
   * duplicated, reordered, corrupted or delayed messages: a starved handshake or a stalled cycle is
   * a failure, not a quiet run.
   */
  KEEPS_REPLICATING,
  /**
   * A test failover, a failover and its commit give exactly the disks of the chosen recovery point,
   * and an unplanned failover loses at most what followed the last cycle the primary saw
   * acknowledged.
   */
  FAILOVER_AT_CHOSEN_POINT,
  /** A planned failover loses nothing: the new primary starts from the old one's last writes. */
  PLANNED_FAILOVER_LOSES_NOTHING,
  /** After a failover, replication in reverse brings the old primary to the new primary's disks. */
  REVERSE_CONVERGES,
  /**
   * Blocks of the replica changed behind the engine's back are each reported by an online verify,
   * nothing else is, and the resynchronization that follows makes the replica right again.
   */
  VERIFY_FINDS_SILENT_CORRUPTION
}
