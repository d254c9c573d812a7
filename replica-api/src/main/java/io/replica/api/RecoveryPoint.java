package io.replica.api;

import java.time.Instant;
import java.util.Objects;

/**
 * A point in time of the replica that failover can start from.
 *
 * @param vm the machine
 * @param cycle the cycle whose cut this point is
 * @param time the primary's time at the cut
 * @param type crash- or application-consistent
 */
public record RecoveryPoint(VmId vm, long cycle, Instant time, RecoveryPointType type) {
  public RecoveryPoint {
    Objects.requireNonNull(vm, "vm");
    Objects.requireNonNull(time, "time");
    Objects.requireNonNull(type, "type");
  }
}
