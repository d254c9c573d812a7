package io.replica.api;

/** Hyper-V's health levels. */
public enum HealthState {
  /** Replicating on time. */
  NORMAL,
  /** Replicating, but behind or incomplete (missed cycles, no recent success, paused). */
  WARNING,
  /** Replication cannot proceed until someone acts. */
  CRITICAL
}
