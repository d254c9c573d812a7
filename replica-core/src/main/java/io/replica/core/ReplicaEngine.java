package io.replica.core;

/** Builds replication managers. */
public final class ReplicaEngine {
  private ReplicaEngine() {}
}
