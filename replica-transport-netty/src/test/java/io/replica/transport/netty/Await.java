package io.replica.transport.netty;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * Waits for a condition, never for a time: the condition is checked at once, again whenever
 * something calls {@link #signal()} (an engine event, a closed connection), and at the latest every
 * {@link #RECHECK} for changes nothing signals. A condition still false at the deadline fails with
 * what was awaited and the state it was in; the deadline is a generous bound against a hang, not a
 * measurement.
 */
final class Await {
  /** How long a waiter goes without checking when nothing signals. */
  static final Duration RECHECK = Duration.ofMillis(20);

  private final Object lock = new Object();
  private long signals;

  /** Wakes the waiters: something their condition reads may have changed. */
  void signal() {
    synchronized (lock) {
      signals++;
      lock.notifyAll();
    }
  }

  /**
   * Returns once {@code condition} holds.
   *
   * @throws AssertionError if it does not hold within {@code deadline}, with {@code state}
   */
  void until(String what, Duration deadline, BooleanSupplier condition, Supplier<String> state)
      throws InterruptedException {
    long end = System.nanoTime() + deadline.toNanos();
    while (true) {
      long seen;
      synchronized (lock) {
        seen = signals;
      }
      // Outside the lock: the condition may take the locks of whoever signals.
      if (condition.getAsBoolean()) {
        return;
      }
      long left = end - System.nanoTime();
      if (left <= 0) {
        throw new AssertionError(what + " did not happen within " + deadline.toSeconds()
            + " s; " + state.get());
      }
      synchronized (lock) {
        if (signals == seen) {
          TimeUnit.NANOSECONDS.timedWait(lock, Math.min(left, RECHECK.toNanos()));
        }
      }
    }
  }
}
