package io.replica.testkit.sim;

import java.util.Objects;

/**
 * One planned fault.
 *
 * @param step the step before which it is injected
 * @param kind what happens
 * @param amount how many messages it affects, or for how many steps it lasts
 * @param towardReplica for network faults, whether it affects the direction primary to replica
 */
public record Fault(int step, FaultKind kind, int amount, boolean towardReplica) {
  public Fault {
    Objects.requireNonNull(kind, "kind");
    if (step < 0 || amount < 1) {
      throw new IllegalArgumentException("fault " + kind + " at step " + step + " with amount " + amount
          + " is invalid: the step must not be negative and the amount must be positive");
    }
  }
}
