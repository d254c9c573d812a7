package io.replica.testkit.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Many seeds of every scenario, with every invariant checked after every step. */
class SimulationTest {
  /** Seeds per scenario in CI; four scenarios make 4,000 seeds. */
  static final int SEEDS_PER_SCENARIO = 1000;

  @ParameterizedTest
  @EnumSource(Scenario.class)
  void everySeedHoldsEveryInvariant(Scenario scenario) {
    List<String> failures = new ArrayList<>();
    for (long seed = 0; seed < SEEDS_PER_SCENARIO; seed++) {
      SimulationResult r = Simulation.builder(seed).scenario(scenario).build().run();
      if (!r.passed()) {
        failures.add(r.report());
      }
    }
    assertEquals(List.of(), failures.subList(0, Math.min(3, failures.size())),
        failures.size() + " of " + SEEDS_PER_SCENARIO + " seeds of " + scenario + " broke an invariant");
  }
}
