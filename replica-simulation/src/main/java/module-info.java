/**
 * The deterministic simulation: the engine of a primary and a replica host, in-memory storage and
 * network and a manual clock in one thread, driven by a seed, with invariants checked at each step.
 */
module io.replica.testkit.sim {
  requires transitive io.replica.api;
  requires io.replica.core;
  requires io.replica.testkit;
  requires static org.jspecify;

  exports io.replica.testkit.sim;
}
