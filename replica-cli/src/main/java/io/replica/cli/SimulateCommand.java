package io.replica.cli;

import io.replica.testkit.sim.FaultKind;
import io.replica.testkit.sim.Scenario;
import io.replica.testkit.sim.Simulation;
import io.replica.testkit.sim.SimulationResult;
import java.io.PrintWriter;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Deque;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
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

  @Option(names = "--scenario", description = "steady, pause_resume, crashes, reconnects, failover, resync or all (default: ${DEFAULT-VALUE}).")
  String scenario = "all";

  @Option(names = "--steps", description = "Steps per seed (default: ${DEFAULT-VALUE}).")
  int steps = Simulation.DEFAULT_STEPS;

  @Option(names = "--threads", description = "Runs at once, each on its own thread; results do not depend on it"
      + " (default: the number of processors).")
  int threads = Runtime.getRuntime().availableProcessors();

  @Option(names = "--trace", description = "Print every line of each run's trace (the hosts' events, the faults,"
      + " the cuts) with its simulated time; runs one at a time.")
  boolean trace;

  @Override
  public Integer call() throws InterruptedException {
    PrintWriter out = spec.commandLine().getOut();
    List<Scenario> scenarios;
    if (scenario.equalsIgnoreCase("all")) {
      scenarios = List.of(Scenario.values());
    } else {
      try {
        scenarios = List.of(Scenario.valueOf(scenario.toUpperCase(Locale.ROOT)));
      } catch (IllegalArgumentException e) {
        spec.commandLine().getErr().println("simulate: unknown scenario '" + scenario
            + "'; use steady, pause_resume, crashes, reconnects, failover, resync or all");
        return 2;
      }
    }
    if (seeds < 1 || steps < 1 || threads < 1) {
      spec.commandLine().getErr().println("simulate: --seeds, --steps and --threads must be at least 1");
      return 2;
    }
    Map<FaultKind, Long> faults = new EnumMap<>(FaultKind.class);
    long runs = 0;
    long totalSteps = 0;
    long cycles = 0;
    long points = 0;
    long failovers = 0;
    List<Long> underFaults = new ArrayList<>();
    int violations = 0;
    ExecutorService pool = Executors.newFixedThreadPool(trace ? 1 : threads);
    // Runs are submitted a window at a time and reported in seed order, whatever finishes first.
    Deque<Future<SimulationResult>> window = new ArrayDeque<>();
    long seed = from;
    int scenarioIndex = 0;
    try {
      while (seed < from + seeds || !window.isEmpty()) {
        while (seed < from + seeds && window.size() < 4 * threads) {
          long runSeed = seed;
          Scenario s = scenarios.get(scenarioIndex);
          Simulation.Builder b = Simulation.builder(runSeed).scenario(s).steps(steps);
          if (trace) {
            b.trace(line -> {
              out.println(line);
              out.flush();
            });
          }
          window.add(pool.submit(() -> b.build().run()));
          if (++scenarioIndex == scenarios.size()) {
            scenarioIndex = 0;
            seed++;
          }
        }
        SimulationResult r;
        try {
          r = window.poll().get();
        } catch (ExecutionException e) {
          throw new IllegalStateException("a simulated run failed outside its checks: " + e.getCause(), e.getCause());
        }
        runs++;
        totalSteps += r.steps();
        cycles += r.cyclesApplied();
        points += r.recoveryPointsTaken();
        failovers += r.failovers();
        underFaults.add(r.cyclesAppliedUnderFaults());
        r.faults().forEach((k, v) -> faults.merge(k, (long) v, Long::sum));
        if (!r.passed()) {
          violations++;
          out.print(r.report());
          out.flush();
        }
      }
    } finally {
      pool.shutdownNow();
    }
    out.printf("seeds run: %d (%d runs over %s)%n", seeds, runs, scenarios.size() == 1
        ? scenarios.get(0).name().toLowerCase(Locale.ROOT) : "all scenarios");
    out.printf("steps: %d%n", totalSteps);
    out.printf("cycles applied: %d%n", cycles);
    Collections.sort(underFaults);
    out.printf("cycles applied while faults were active, per run: median %d, 10th percentile %d%n",
        percentile(underFaults, 50), percentile(underFaults, 10));
    out.printf("recovery points taken: %d%n", points);
    out.printf("failovers done: %d%n", failovers);
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

  /** The value at or below which {@code p} percent of the sorted values lie (nearest rank). */
  private static long percentile(List<Long> sorted, int p) {
    int rank = (int) Math.ceil(p / 100.0 * sorted.size());
    return sorted.get(Math.max(0, rank - 1));
  }
}
