/** Replica's engine: build a {@link io.replica.api.ReplicationManager} with {@link io.replica.core.ReplicaEngine}. */
module io.replica.core {
  requires transitive io.replica.api;
  requires static org.jspecify;
  requires roaringbitmap;
  requires org.slf4j;
  requires com.fasterxml.jackson.databind;

  exports io.replica.core;
  // The engine's packages are not exported: the simulation alone reaches the engine to switch on
  // mutations that prove its invariants catch bugs.
  exports io.replica.core.host to io.replica.testkit.sim;
  exports io.replica.core.testing to io.replica.testkit.sim;
  exports io.replica.core.context to io.replica.testkit.sim;
  opens io.replica.core.tracking to com.fasterxml.jackson.databind;
  opens io.replica.core.primary to com.fasterxml.jackson.databind;
  opens io.replica.core.replica to com.fasterxml.jackson.databind;
}
