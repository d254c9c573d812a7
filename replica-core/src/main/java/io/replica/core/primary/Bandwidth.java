package io.replica.core.primary;

import io.replica.spi.time.Cancellable;
import java.time.Duration;
import org.jspecify.annotations.Nullable;

/**
 * The relationship's bandwidth limit: an allowance of payload bytes that refills at the limit's
 * rate, at most one second's worth; when it runs out the sender stops and resumes on a timer.
 */
final class Bandwidth {
  private final PrimaryHost engine;
  /** Bytes per second; zero or less: no limit. */
  private final long limit;
  /** Block bytes the bandwidth limit allows now (negative: owed); at most one second's worth. */
  private double allowance;
  private long allowanceAt = -1;
  /** Resumes sending once the bandwidth limit allows it again. */
  private @Nullable Cancellable throttled;

  Bandwidth(PrimaryHost engine, long limit) {
    this.engine = engine;
    this.limit = limit;
  }

  /** Whether the sender may go on now; if not, {@code resume} runs once the limit allows it again. */
  boolean allows(Runnable resume) {
    if (limit <= 0) {
      return true;
    }
    long now = engine.clock().nanoTime();
    allowance = allowanceAt < 0 ? limit : Math.min(limit, allowance + (now - allowanceAt) * (double) limit / 1e9);
    allowanceAt = now;
    if (allowance > 0) {
      return true;
    }
    if (throttled == null) {
      long waitNanos = (long) Math.ceil(-allowance * 1e9 / limit) + 1;
      throttled = engine.scheduler().schedule(() -> engine.runLocked(() -> {
        throttled = null;
        resume.run();
      }), Duration.ofNanos(waitNanos));
    }
    return false;
  }

  /** The sender sent {@code bytes} of payload. */
  void spend(long bytes) {
    allowance -= bytes;
  }

  /** Whether the sender waits for the limit (so a stalled cycle is not taken for a lost one). */
  boolean throttled() {
    return throttled != null;
  }

  void cancel() {
    if (throttled != null) {
      throttled.cancel();
      throttled = null;
    }
  }
}
