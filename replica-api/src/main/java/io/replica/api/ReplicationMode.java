package io.replica.api;

/** The role of this host for one virtual machine. */
public enum ReplicationMode {
  /** This host runs the machine and sends its changes. */
  PRIMARY,
  /** This host keeps the copy. */
  REPLICA,
  /** A disposable copy made by a test failover. */
  TEST_REPLICA
}
