package io.replica.testkit.sim;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The faults of one run, drawn from a seed: plain Java, so any test framework can use it, and the
 * same seed always gives the same plan.
 */
public final class FaultPlan {
  private final long seed;
  private final Scenario scenario;
  private final List<Fault> faults;

  private FaultPlan(long seed, Scenario scenario, List<Fault> faults) {
    this.seed = seed;
    this.scenario = scenario;
    this.faults = Collections.unmodifiableList(faults);
  }

  /**
   * Draws about one fault per {@code meanGap} steps over {@code steps} steps, of the kinds
   * {@code scenario} weighs.
   *
   * @throws IllegalArgumentException if {@code steps} or {@code meanGap} is not positive
   */
  public static FaultPlan generate(long seed, Scenario scenario, int steps, int meanGap) {
    if (steps < 1 || meanGap < 1) {
      throw new IllegalArgumentException("a fault plan needs positive steps and gap, not " + steps + " and " + meanGap);
    }
    SplittableRandom random = new SplittableRandom(seed ^ 0x5DEECE66DL);
    int total = scenario.weights().values().stream().mapToInt(Integer::intValue).sum();
    List<Fault> faults = new ArrayList<>();
    for (int step = random.nextInt(meanGap); step < steps; step += 1 + random.nextInt(2 * meanGap)) {
      int pick = random.nextInt(total);
      FaultKind kind = null;
      for (Map.Entry<FaultKind, Integer> e : scenario.weights().entrySet()) {
        pick -= e.getValue();
        if (pick < 0) {
          kind = e.getKey();
          break;
        }
      }
      faults.add(new Fault(step, kind, 1 + random.nextInt(amountBound(kind)), random.nextBoolean()));
    }
    return new FaultPlan(seed, scenario, faults);
  }

  private static int amountBound(FaultKind kind) {
    switch (kind) {
      case DROP:
      case DUPLICATE:
      case REORDER:
      case CORRUPT:
        return 4;
      case DELAY:
      case PARTITION:
      case SUSPEND:
      case OPEN_VIEW:
      case DISK_FULL:
      case SLOW_DISK:
      case CRASH_REPLICA:
      case TEST_FAILOVER:
      case RESYNCHRONIZE:
        return 40;
      default:
        return 1;
    }
  }

  /** The seed the plan was drawn from. */
  public long seed() {
    return seed;
  }

  /** The scenario it was drawn for. */
  public Scenario scenario() {
    return scenario;
  }

  /** The faults in step order. */
  public List<Fault> faults() {
    return faults;
  }

  @Override
  public String toString() {
    return "FaultPlan[seed=" + seed + ", scenario=" + scenario + ", faults=" + faults.size() + "]";
  }
}
