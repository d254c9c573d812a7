package io.replica.spi.host;

/** A virtual machine's power state as the host reports it. */
public enum PowerState {
  /** Running: its disks may change at any time. */
  RUNNING,
  /** Paused in memory: its disks do not change until it resumes. */
  PAUSED,
  /** Saved to disk. */
  SAVED,
  /** Off. */
  OFF
}
