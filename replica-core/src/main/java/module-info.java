/** Replica's engine: build a {@link io.replica.api.ReplicationManager} with {@link io.replica.core.ReplicaEngine}. */
module io.replica.core {
  requires transitive io.replica.api;
  requires static org.jspecify;
  requires roaringbitmap;
  requires org.slf4j;
  requires com.fasterxml.jackson.databind;

  exports io.replica.core;
  exports io.replica.core.internal to io.replica.testkit;
  opens io.replica.core.internal to com.fasterxml.jackson.databind;
}
