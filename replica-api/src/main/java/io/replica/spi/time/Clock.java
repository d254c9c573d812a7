package io.replica.spi.time;

import java.time.Instant;

/**
 * The engine's only source of time, so that a simulation can run it on a manual clock.
 */
public interface Clock {

  /** Wall-clock time, for timestamps that people read (recovery points, statistics). */
  Instant instant();

  /** A monotonic reading in nanoseconds, for durations (latency, timeouts); origin arbitrary. */
  long nanoTime();

  /** The system clock. */
  static Clock system() {
    return SystemClock.INSTANCE;
  }
}
