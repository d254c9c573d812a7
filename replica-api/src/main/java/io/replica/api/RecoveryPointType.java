package io.replica.api;

/** How consistent a recovery point is. */
public enum RecoveryPointType {
  /** The disks as after a power loss at the cut. */
  STANDARD,
  /** The guest's applications were quiesced at the cut. */
  APPLICATION_CONSISTENT
}
