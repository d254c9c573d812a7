package io.replica.core.health;

import io.replica.api.HealthState;
import io.replica.api.ReplicationHealth;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The health rules both roles share, and how reasons add up to a level: any critical reason makes
 * the health Critical (its warnings listed after), else any warning makes it Warning.
 */
public final class HealthReport {
  /** Replication that has not succeeded for this long is a warning, on either side. */
  static final Duration STALE_AFTER = Duration.ofHours(1);
  /** More missed cycles than this share of the monitoring window's is a warning. */
  static final double MISSED_SHARE_WARNING = 0.2;

  private final List<String> critical = new ArrayList<>();
  private final List<String> warning = new ArrayList<>();

  public HealthReport critical(String reason) {
    critical.add(reason);
    return this;
  }

  public HealthReport warning(String reason) {
    warning.add(reason);
    return this;
  }

  /** A warning until the first complete copy is on the replica. */
  public HealthReport initialReplication(boolean complete) {
    return complete ? this : warning("initial replication is not complete");
  }

  /** Whether the last success in {@code stats} is longer ago than {@link #STALE_AFTER}. */
  public static boolean stale(Stats stats, long nowNanos) {
    return nowNanos - stats.lastSuccessNanos > STALE_AFTER.toNanos();
  }

  /** A warning when more than a fifth of the window's cycles were missed. */
  public HealthReport missedCycles(Stats stats) {
    long cycles = stats.successful() + stats.missedCount();
    if (cycles > 0 && stats.missedCount() > MISSED_SHARE_WARNING * cycles) {
      warning(stats.missedCount() + " of " + cycles + " cycles in the monitoring window were missed"
          + " (more than 20 %)");
    }
    return this;
  }

  public ReplicationHealth health() {
    if (!critical.isEmpty()) {
      List<String> all = new ArrayList<>(critical);
      all.addAll(warning);
      return new ReplicationHealth(HealthState.CRITICAL, all);
    }
    return warning.isEmpty() ? ReplicationHealth.normal() : new ReplicationHealth(HealthState.WARNING, warning);
  }
}
