package io.replica.core.primary;

import org.jspecify.annotations.Nullable;

/**
 * What a primary that replicates back after a failover builds on: the cycle of a planned failover,
 * which both sides hold, or an unplanned failover, after which the other side's disks are compared
 * and repaired. A relationship that is not a reversal has none (null).
 */
public sealed interface ReverseOf {

  /** After a planned failover at {@code cycle}: both sides hold the disks at that cycle. */
  record Planned(long cycle) implements ReverseOf {
    public Planned {
      if (cycle < 0) {
        throw new IllegalArgumentException("a planned failover's cycle is never negative: " + cycle);
      }
    }
  }

  /** After an unplanned failover: the other side's disks differ, and a resynchronization repairs them. */
  record Unplanned() implements ReverseOf {}

  /** {@code EnableRequest.reverseOfCycle} of a request that is no reversal. */
  long WIRE_NONE = -1;
  /** {@code EnableRequest.reverseOfCycle} of a reversal after an unplanned failover. */
  long WIRE_UNPLANNED = -2;

  /** The form {@code EnableRequest.reverseOfCycle} carries. */
  static long toWire(@Nullable ReverseOf r) {
    if (r instanceof Planned p) {
      return p.cycle();
    }
    return r instanceof Unplanned ? WIRE_UNPLANNED : WIRE_NONE;
  }

  /**
   * The reversal a request's {@code reverseOfCycle} asks for; null for none.
   *
   * @throws IllegalArgumentException for a value below -2, which no sender writes
   */
  static @Nullable ReverseOf fromWire(long reverseOfCycle) {
    if (reverseOfCycle == WIRE_NONE) {
      return null;
    }
    if (reverseOfCycle == WIRE_UNPLANNED) {
      return new Unplanned();
    }
    if (reverseOfCycle < 0) {
      throw new IllegalArgumentException("reverse-of cycle " + reverseOfCycle + " is invalid; allowed: -2, -1"
          + " or a cycle number");
    }
    return new Planned(reverseOfCycle);
  }
}
