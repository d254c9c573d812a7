package io.replica.testkit.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.stream.LongStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Many seeds of every scenario, with every invariant checked after every step. */
class SimulationTest {
  /** Seeds per scenario in CI; six scenarios make 24,000 runs. */
  static final int SEEDS_PER_SCENARIO = 4000;

  @ParameterizedTest
  @EnumSource(Scenario.class)
  void everySeedHoldsEveryInvariant(Scenario scenario) {
    // Each run is single-threaded and deterministic; runs of different seeds go on in parallel.
    List<String> failures = LongStream.range(0, SEEDS_PER_SCENARIO).parallel()
        .mapToObj(seed -> Simulation.builder(seed).scenario(scenario).build().run())
        .filter(r -> !r.passed())
        .sorted(java.util.Comparator.comparingLong(SimulationResult::seed))
        .map(SimulationResult::report)
        .toList();
    assertEquals(List.of(), failures.subList(0, Math.min(3, failures.size())),
        failures.size() + " of " + SEEDS_PER_SCENARIO + " seeds of " + scenario + " broke an invariant");
  }
}
