package io.replica.testkit.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Every seed that once found a bug, kept as a plain test; and replays that are exact. */
class SimulationRegressionTest {

  @ParameterizedTest(name = "{1} seed {0}: {2}")
  @CsvSource(delimiter = '|', value = {
      "0   | STEADY       | initial replication never restarted after a lost message",
      "9   | STEADY       | an enable request whose answer was lost waited forever",
      "12  | PAUSE_RESUME | a cut taken by resume was attributed the guest's later writes",
      "911 | PAUSE_RESUME | a cut taken while draining was missed",
      "10  | CRASHES      | a replica that could not apply (disk full) was taken for one that lost data",
      "754 | CRASHES      | events of a closed replica arrived after those of its successor",
      "790 | CRASHES      | events of a closed replica arrived after those of its successor",
      "1101 | STEADY      | a late first copy from a replaced connection displaced the current one",
      "1078 | CRASHES     | a first copy written in place and abandoned left its blocks behind",
  })
  void seedsThatFoundBugsPass(long seed, Scenario scenario, String bug) {
    SimulationResult r = Simulation.builder(seed).scenario(scenario).build().run();
    assertTrue(r.passed(), bug + "\n" + r.report());
  }

  @Test
  void aReplayedSeedProducesTheIdenticalTrace() {
    for (Scenario scenario : Scenario.values()) {
      SimulationResult first = Simulation.builder(4242).scenario(scenario).build().run();
      SimulationResult second = Simulation.builder(4242).scenario(scenario).build().run();
      assertEquals(first.traceHash(), second.traceHash(), scenario + ": same seed, same trace");
      assertEquals(first.lastEvents(), second.lastEvents());
      assertEquals(first.faults(), second.faults());
      SimulationResult other = Simulation.builder(4243).scenario(scenario).build().run();
      assertNotEquals(first.traceHash(), other.traceHash(), scenario + ": another seed, another trace");
    }
  }

  @Test
  void aFaultPlanIsAFunctionOfItsSeed() {
    FaultPlan a = FaultPlan.generate(77, Scenario.CRASHES, 300, 12);
    FaultPlan b = FaultPlan.generate(77, Scenario.CRASHES, 300, 12);
    assertEquals(a.faults(), b.faults());
    assertTrue(a.faults().stream().allMatch(f -> Scenario.CRASHES.weights().containsKey(f.kind())));
    assertTrue(a.faults().stream().allMatch(f -> f.step() < 300));
  }

  @Test
  void aFailedRunReportsTheSeedTheReplayCommandAndTheLastEvents() {
    io.replica.core.internal.Mutation.activate(io.replica.core.internal.Mutation.COPY_BEFORE_WRITE_SKIPPED);
    try {
      SimulationResult r = Simulation.builder(0).scenario(Scenario.PAUSE_RESUME).build().run();
      assertTrue(!r.passed());
      String report = r.report();
      assertTrue(report.startsWith("seed 0 (PAUSE_RESUME): REPLICA_EQUALS_ACKED_CUT violated"), report);
      assertTrue(report.contains("replay: ./replica simulate --seeds 1 --from 0 --scenario pause_resume"), report);
      assertTrue(report.contains("last events:"), report);
      assertTrue(r.lastEvents().size() > 10);
    } finally {
      io.replica.core.internal.Mutation.activate(null);
    }
  }
}
