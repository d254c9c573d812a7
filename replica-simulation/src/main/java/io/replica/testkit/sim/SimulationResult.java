package io.replica.testkit.sim;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What one simulated run did and found.
 *
 * @param seed the seed that replays it
 * @param scenario the scenario it ran
 * @param steps the steps it took
 * @param faults how many faults of each kind it injected
 * @param cyclesApplied cycles the replica applied
 * @param cyclesAppliedUnderFaults cycles the replica applied before the faults stopped
 * @param recoveryPointsTaken additional recovery points the replica took
 * @param failovers failovers the run did (test, planned and unplanned)
 * @param violation the first invariant that failed, if any
 * @param lastEvents the last events before the end or the violation, oldest first
 * @param traceHash a hash of everything that happened, equal for every replay of the seed
 */
public record SimulationResult(long seed, Scenario scenario, int steps, Map<FaultKind, Integer> faults,
    long cyclesApplied, long cyclesAppliedUnderFaults, long recoveryPointsTaken, long failovers,
    Optional<Violation> violation, List<String> lastEvents, long traceHash) {

  public SimulationResult {
    faults = Map.copyOf(faults);
    lastEvents = List.copyOf(lastEvents);
  }

  /** Whether every invariant held. */
  public boolean passed() {
    return violation.isEmpty();
  }

  /** The command that replays exactly this run. */
  public String replayCommand() {
    return "./replica simulate --seeds 1 --from " + seed + " --scenario " + scenario.name().toLowerCase(java.util.Locale.ROOT);
  }

  /** A report of a failed run: the violation, the replay command and the last events. */
  public String report() {
    StringBuilder b = new StringBuilder();
    b.append("seed ").append(seed).append(" (").append(scenario).append("): ")
        .append(violation.map(Violation::toString).orElse("passed")).append('\n')
        .append("replay: ").append(replayCommand()).append('\n');
    if (violation.isPresent()) {
      b.append("last events:\n");
      lastEvents.forEach(e -> b.append("  ").append(e).append('\n'));
    }
    return b.toString();
  }
}
