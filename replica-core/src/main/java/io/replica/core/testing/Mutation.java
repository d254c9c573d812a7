package io.replica.core.testing;

/**
 * Deliberately broken behaviours. The simulation's own tests inject one into the engines of a run
 * ({@link Engine#inject}) to prove that the simulation catches it and names the invariant it
 * breaks. There is no global switch: an engine nobody injected into behaves correctly.
 */
public enum Mutation {
  /** The replica acknowledges a cycle before its journal is durable. */
  ACK_BEFORE_DURABLE,
  /** The replica applies pending cycles newest first. */
  APPLY_OUT_OF_ORDER,
  /** Guest writes to frozen blocks do not preserve the old content. */
  COPY_BEFORE_WRITE_SKIPPED,
  /** A duplicate of a cycle's end applies the cycle a second time. */
  DUPLICATE_APPLIED_TWICE,
  /** An unplanned failover gives the disks of the latest point, whichever point was chosen. */
  FAILOVER_PAST_CHOSEN_POINT,
  /** An online verify takes the second half of each span it asks for as matching, unread. */
  VERIFY_SKIPS_A_RANGE
}
