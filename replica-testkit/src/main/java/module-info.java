/**
 * Test support for Replica and for embedders: in-memory disks, state and transport, a manual clock
 * and scheduler, seeded workload generators, and the SPI contract kits.
 */
module io.replica.testkit {
  requires transitive io.replica.api;
  requires io.replica.core;
  requires static org.jspecify;
  requires transitive org.junit.jupiter.api;

  exports io.replica.testkit.memory;
  exports io.replica.testkit.time;
  exports io.replica.testkit.contract;
  exports io.replica.testkit.gen;
  exports io.replica.testkit.sim;
}
