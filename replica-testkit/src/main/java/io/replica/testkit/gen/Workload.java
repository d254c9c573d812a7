package io.replica.testkit.gen;

/**
 * The shape of the guest writes a {@link WorkloadGenerator} makes. Each stresses a different part
 * of replication: spread-out dirty sets, rewriting the same blocks within one cycle, long contiguous
 * extents, and cycles with nothing or everything to send.
 */
public enum Workload {
  /** Every write at a random sector-aligned offset of a random disk: many small dirty extents. */
  UNIFORM,
  /**
   * Most writes fall into a few small regions per disk (a database log, a hot table), so blocks
   * are overwritten many times within one cycle and copy-before-write gets exercised; the rest are
   * uniform.
   */
  HOT_SPOTS,
  /** Runs of consecutive writes, each starting where the last ended (a file copy, a log). */
  SEQUENTIAL_RUNS,
  /**
   * Quiet periods (the first write of a burst carries a long delay) followed by bursts of many
   * writes with no delay between them, at uniform offsets: empty cycles and very full ones.
   */
  BURSTS
}
