package io.replica.api;

import java.util.List;
import java.util.Objects;

/**
 * A relationship's health and why.
 *
 * @param state the level
 * @param reasons what an operator should read: empty when normal
 */
public record ReplicationHealth(HealthState state, List<String> reasons) {

  public ReplicationHealth {
    Objects.requireNonNull(state, "state");
    reasons = List.copyOf(reasons);
  }

  /** Normal health with no reasons. */
  public static ReplicationHealth normal() {
    return new ReplicationHealth(HealthState.NORMAL, List.of());
  }
}
