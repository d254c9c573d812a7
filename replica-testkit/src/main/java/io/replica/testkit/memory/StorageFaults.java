package io.replica.testkit.memory;

import java.io.IOException;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * A countdown of injected failures for one kind of operation. The fast path (nothing armed) is a
 * single volatile read, so that the disks' write path stays cheap.
 */
final class StorageFaults {
  private volatile int remaining;
  private Supplier<? extends IOException> failure = () -> new IOException("injected failure");

  /** Makes the next {@code count} calls of {@link #poll()} return an exception from {@code failure}. */
  synchronized void failNext(int count, Supplier<? extends IOException> failure) {
    Objects.requireNonNull(failure, "failure");
    if (count < 0) {
      throw new IllegalArgumentException(
          "cannot fail the next " + count + " operations; pass zero (disarm) or a positive count");
    }
    this.failure = failure;
    this.remaining = count;
  }

  /** A supplier of plain {@link IOException}s with {@code message}. */
  static Supplier<IOException> withMessage(String message) {
    Objects.requireNonNull(message, "message");
    return () -> new IOException(message);
  }

  /** The exception the current operation must throw, or null if it may go ahead. */
  IOException poll() {
    if (remaining == 0) {
      return null;
    }
    synchronized (this) {
      if (remaining == 0) {
        return null;
      }
      remaining--;
      IOException e = failure.get();
      if (e == null) {
        throw new NullPointerException(
            "the failure supplier given to failNext... returned null; return an IOException");
      }
      return e;
    }
  }

  /** How many injected failures are still armed. */
  int remaining() {
    return remaining;
  }
}
