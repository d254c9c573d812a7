/**
 * Test support for Replica and for embedders: in-memory disks, state and transport, a manual clock
 * and scheduler, and seeded workload generators. Needs only the API (no JUnit, no engine).
 */
module io.replica.testkit {
  requires transitive io.replica.api;
  requires static org.jspecify;

  exports io.replica.testkit.memory;
  exports io.replica.testkit.time;
  exports io.replica.testkit.gen;
}
