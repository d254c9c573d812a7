package io.replica.testkit.sim;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.replica.core.testing.Mutation;
import java.util.EnumSet;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The simulation has teeth: with a deliberately broken engine it finds a violation within the
 * seed budget CI runs, and names the invariant the mutation breaks.
 */
class SimulationMutationTest {

  @ParameterizedTest
  @EnumSource(Mutation.class)
  void eachBrokenBehaviourIsCaught(Mutation mutation) {
    Optional<SimulationResult> found = Optional.empty();
    int seeds = 0;
    search:
    for (long seed = 0; seed < SimulationTest.SEEDS_PER_SCENARIO; seed++) {
      for (Scenario scenario : Scenario.values()) {
        seeds++;
        SimulationResult r = Simulation.builder(seed).scenario(scenario).mutation(mutation).build().run();
        if (!r.passed()) {
          found = Optional.of(r);
          break search;
        }
      }
    }
    if (found.isEmpty()) {
      fail(mutation + " went unnoticed in " + seeds + " seeds");
    }
    SimulationResult r = found.get();
    Set<Invariant> expected = expectedInvariants(mutation);
    Invariant actual = r.violation().orElseThrow().invariant();
    System.out.println(mutation + " caught after " + seeds + " seeds: " + r.violation().orElseThrow());
    assertTrue(expected.contains(actual), mutation + " should break one of " + expected
        + " but the simulation reported\n" + r.report());
  }

  private static Set<Invariant> expectedInvariants(Mutation mutation) {
    switch (mutation) {
      case ACK_BEFORE_DURABLE:
        return EnumSet.of(Invariant.ACKED_DATA_DURABLE);
      case APPLY_OUT_OF_ORDER:
        // Applying the newer cycle first leaves a point that is no cut at all, or applies out of order.
        return EnumSet.of(Invariant.REPLICA_EQUALS_ACKED_CUT, Invariant.CYCLES_APPLIED_ONCE_IN_ORDER);
      case DUPLICATE_APPLIED_TWICE:
        return EnumSet.of(Invariant.CYCLES_APPLIED_ONCE_IN_ORDER);
      case COPY_BEFORE_WRITE_SKIPPED:
        return EnumSet.of(Invariant.REPLICA_EQUALS_ACKED_CUT);
      case FAILOVER_PAST_CHOSEN_POINT:
        return EnumSet.of(Invariant.FAILOVER_AT_CHOSEN_POINT);
      case VERIFY_SKIPS_A_RANGE:
        return EnumSet.of(Invariant.VERIFY_FINDS_SILENT_CORRUPTION);
      default:
        throw new IllegalArgumentException(mutation.toString());
    }
  }
}
