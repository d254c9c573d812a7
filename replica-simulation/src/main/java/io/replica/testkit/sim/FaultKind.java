package io.replica.testkit.sim;

/** The faults and operator actions a simulation injects. */
public enum FaultKind {
  /** The next few messages from one host to the other vanish. */
  DROP,
  /** The next few messages from one host to the other arrive twice. */
  DUPLICATE,
  /** The next few messages from one host to the other each swap places with the message after them. */
  REORDER,
  /** Messages from one host to the other take longer for a while. */
  DELAY,
  /** The payload of the next few block messages is damaged in transit. */
  CORRUPT,
  /** Every connection between the hosts breaks; they reconnect. */
  DISCONNECT,
  /** The hosts cannot reach each other for a while, then the partition heals. */
  PARTITION,
  /** The replica host crashes (unflushed writes lost or torn at sector granularity) and restarts later. */
  CRASH_REPLICA,
  /**
   * The primary host crashes (its disks and state lose what was not flushed, torn at sector
   * granularity) and restarts, resuming from its activity log.
   */
  CRASH_PRIMARY,
  /** The replica's storage is full for a while. */
  DISK_FULL,
  /** The replica's disks are slow for a while: every piece of its work starts late. */
  SLOW_DISK,
  /** An operator holds the replica's latest recovery point open for a while. */
  OPEN_VIEW,
  /** An operator suspends replication for a while, then resumes it. */
  SUSPEND,
  /**
   * An operator starts a test failover of one of the replica's recovery points while replication
   * goes on, writes to the test copy, and stops it a while later.
   */
  TEST_FAILOVER,
  /**
   * An operator starts a resynchronization; with an odd amount it is cancelled that many steps
   * later and started again a little after.
   */
  RESYNCHRONIZE,
  /** The guest rewrites more than half of its disks at once: past the resynchronization threshold. */
  WRITE_BURST
}
