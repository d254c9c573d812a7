package io.replica.testkit.sim;

import java.util.Objects;

/**
 * An invariant that did not hold.
 *
 * @param invariant which one
 * @param step the step after which it was found
 * @param message what was seen
 */
public record Violation(Invariant invariant, int step, String message) {
  public Violation {
    Objects.requireNonNull(invariant, "invariant");
    Objects.requireNonNull(message, "message");
  }

  @Override
  public String toString() {
    return invariant + " violated after step " + step + ": " + message;
  }
}
