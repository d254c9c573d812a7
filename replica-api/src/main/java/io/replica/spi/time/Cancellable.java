package io.replica.spi.time;

/** A scheduled task that has not run yet can be cancelled. */
@FunctionalInterface
public interface Cancellable {

  /** Cancels the task; returns false if it already ran or was cancelled. */
  boolean cancel();
}
