/**
 * Deterministic simulation: a primary and a replica host, their disks, the network between them
 * and the clock, all in one thread and all driven by one seed. {@link io.replica.testkit.sim.Simulation}
 * runs a {@link io.replica.testkit.sim.Scenario} under a seeded
 * {@link io.replica.testkit.sim.FaultPlan}, checks every {@link io.replica.testkit.sim.Invariant}
 * after each step, and reports a {@link io.replica.testkit.sim.SimulationResult} whose seed replays
 * the run exactly.
 */
@NullMarked
package io.replica.testkit.sim;

import org.jspecify.annotations.NullMarked;
