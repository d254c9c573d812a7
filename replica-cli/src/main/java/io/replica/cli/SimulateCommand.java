package io.replica.cli;

import io.replica.testkit.sim.FaultKind;
import io.replica.testkit.sim.Scenario;
import io.replica.testkit.sim.Simulation;
import io.replica.testkit.sim.SimulationResult;
import java.io.PrintWriter;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * Runs many seeds of the deterministic simulation and prints a summary whose last line is
 * {@code violations: K}; exits 0 only when K is 0.
 */
@Command(name = "simulate", mixinStandardHelpOptions = true,
    description = "Run seeds of the deterministic simulation and check every invariant after every step.")
final class SimulateCommand implements Callable<Integer> {

  @Spec
  CommandSpec spec;

  @Option(names = "--seeds", description = "How many seeds to run (default: ${DEFAULT-VALUE}).")
  int seeds = 100;

  @Option(names = "--from", description = "The first seed (default: ${DEFAULT-VALUE}).")
  long from = 0;

  @Option(names = "--scenario", description = "steady, pause_resume, crashes, reconnects or all (default: ${DEFAULT-VALUE}).")
  String scenario = "all";

  @Option(names = "--steps", description = "Steps per seed (default: ${DEFAULT-VALUE}).")
  int steps = Simulation.DEFAULT_STEPS;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    List<Scenario> scenarios;
    if (scenario.equalsIgnoreCase("all")) {
      scenarios = List.of(Scenario.values());
    } else {
      try {
        scenarios = List.of(Scenario.valueOf(scenario.toUpperCase(Locale.ROOT)));
      } catch (IllegalArgumentException e) {
        spec.commandLine().getErr().println("simulate: unknown scenario '" + scenario
            + "'; use steady, pause_resume, crashes, reconnects or all");
        return 2;
      }
    }
    if (seeds < 1 || steps < 1) {
      spec.commandLine().getErr().println("simulate: --seeds and --steps must be at least 1");
      return 2;
    }
    Map<FaultKind, Long> faults = new EnumMap<>(FaultKind.class);
    long runs = 0;
    long totalSteps = 0;
    long cycles = 0;
    int violations = 0;
    for (long seed = from; seed < from + seeds; seed++) {
      for (Scenario s : scenarios) {
        SimulationResult r = Simulation.builder(seed).scenario(s).steps(steps).build().run();
        runs++;
        totalSteps += r.steps();
        cycles += r.cyclesApplied();
        r.faults().forEach((k, v) -> faults.merge(k, (long) v, Long::sum));
        if (!r.passed()) {
          violations++;
          out.print(r.report());
          out.flush();
        }
      }
    }
    out.printf("seeds run: %d (%d runs over %s)%n", seeds, runs, scenarios.size() == 1
        ? scenarios.get(0).name().toLowerCase(Locale.ROOT) : "all scenarios");
    out.printf("steps: %d%n", totalSteps);
    out.printf("cycles applied: %d%n", cycles);
    out.printf("faults injected:");
    if (faults.isEmpty()) {
      out.printf(" none");
    }
    faults.forEach((k, v) -> out.printf(" %s=%d", k.name().toLowerCase(Locale.ROOT), v));
    out.println();
    out.printf("violations: %d%n", violations);
    out.flush();
    return violations == 0 ? 0 : 1;
  }
}
