package io.replica.testkit.sim;

import java.util.EnumMap;
import java.util.Map;

/**
 * What a simulated run exercises: the mix of faults its {@link FaultPlan} draws from, as relative
 * weights per {@link FaultKind}.
 */
public enum Scenario {
  /** Steady replication while the network drops, duplicates, reorders, delays and corrupts messages. */
  STEADY(weights(FaultKind.DROP, 3, FaultKind.DUPLICATE, 3, FaultKind.REORDER, 2, FaultKind.DELAY, 2, FaultKind.CORRUPT, 2,
      FaultKind.DISCONNECT, 1, FaultKind.OPEN_VIEW, 1, FaultKind.SLOW_DISK, 1)),
  /** An operator suspends and resumes replication while faults go on. */
  PAUSE_RESUME(weights(FaultKind.SUSPEND, 4, FaultKind.DROP, 1, FaultKind.DUPLICATE, 1, FaultKind.DELAY, 1,
      FaultKind.OPEN_VIEW, 1)),
  /** Either host crashes and restarts, losing or tearing unflushed writes; the replica's disk fills or slows. */
  CRASHES(weights(FaultKind.CRASH_REPLICA, 4, FaultKind.CRASH_PRIMARY, 2, FaultKind.DISK_FULL, 1, FaultKind.SLOW_DISK, 1,
      FaultKind.OPEN_VIEW, 2, FaultKind.DROP, 1, FaultKind.DUPLICATE, 1)),
  /** Connections break and the hosts are partitioned, then heal. */
  RECONNECTS(weights(FaultKind.DISCONNECT, 4, FaultKind.PARTITION, 3, FaultKind.DELAY, 1, FaultKind.DROP, 1,
      FaultKind.REORDER, 1)),
  /**
   * Test failovers of recovery points while cycles apply under lost, duplicated and delayed
   * messages, broken connections and crashes; the run then ends with a planned failover and
   * reverse replication, or with the loss of the primary site, an unplanned failover to a chosen
   * point (sometimes cancelled first), its commit and reverse replication to the returned primary.
   */
  FAILOVER(weights(FaultKind.TEST_FAILOVER, 4, FaultKind.DROP, 2, FaultKind.DUPLICATE, 2, FaultKind.DELAY, 1,
      FaultKind.DISCONNECT, 2, FaultKind.CRASH_REPLICA, 1, FaultKind.CRASH_PRIMARY, 1, FaultKind.OPEN_VIEW, 1)),
  /**
   * Resynchronizations started by the operator and by the threshold (the guest rewrites most of
   * its disks), paused, resumed and cancelled, while messages are lost, duplicated and delayed,
   * connections break and either host crashes.
   */
  RESYNC(weights(FaultKind.RESYNCHRONIZE, 4, FaultKind.WRITE_BURST, 2, FaultKind.SUSPEND, 2, FaultKind.DROP, 2,
      FaultKind.DUPLICATE, 1, FaultKind.DELAY, 1, FaultKind.DISCONNECT, 2, FaultKind.CRASH_PRIMARY, 1,
      FaultKind.CRASH_REPLICA, 1));

  private final Map<FaultKind, Integer> weights;

  Scenario(Map<FaultKind, Integer> weights) {
    this.weights = weights;
  }

  /** The relative weight of each fault kind this scenario injects. */
  public Map<FaultKind, Integer> weights() {
    return weights;
  }

  private static Map<FaultKind, Integer> weights(Object... kindAndWeight) {
    Map<FaultKind, Integer> m = new EnumMap<>(FaultKind.class);
    for (int i = 0; i < kindAndWeight.length; i += 2) {
      m.put((FaultKind) kindAndWeight[i], (Integer) kindAndWeight[i + 1]);
    }
    return m;
  }
}
