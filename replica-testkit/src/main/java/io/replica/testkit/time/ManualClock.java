package io.replica.testkit.time;

import io.replica.spi.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A {@link Clock} that stands still until a test moves it, so that every run of a test or a
 * simulation sees exactly the same times.
 *
 * <p>{@link #instant()} and {@link #nanoTime()} move together: {@code nanoTime()} is the number of
 * nanoseconds the clock has been advanced since it was made (it starts at 0) and
 * {@code instant()} is the start instant plus that amount. Time never goes backwards.
 *
 * <p>Safe for concurrent use; usually a {@link ManualScheduler} moves it while it runs tasks.
 */
public final class ManualClock implements Clock {

  private final Instant start;
  private final AtomicLong elapsedNanos = new AtomicLong();

  /**
   * A clock that reads {@code start} until advanced.
   *
   * @throws NullPointerException if {@code start} is null
   */
  public ManualClock(Instant start) {
    this.start = Objects.requireNonNull(start, "start");
  }

  /** The start instant plus everything the clock has been advanced by. */
  @Override
  public Instant instant() {
    return start.plusNanos(elapsedNanos.get());
  }

  /** Nanoseconds advanced since the clock was made; 0 at first. */
  @Override
  public long nanoTime() {
    return elapsedNanos.get();
  }

  /** How far the clock has been advanced since it was made. */
  public Duration elapsed() {
    return Duration.ofNanos(elapsedNanos.get());
  }

  /**
   * Moves the clock forward. Tasks on a {@link ManualScheduler} do not run by this alone; use
   * {@link ManualScheduler#advance(Duration)} to move time and run what falls due.
   *
   * @throws IllegalArgumentException if {@code duration} is negative
   * @throws ArithmeticException if the clock would pass about 292 years after its start
   */
  public void advance(Duration duration) {
    Objects.requireNonNull(duration, "duration");
    if (duration.isNegative()) {
      throw new IllegalArgumentException(
          "cannot move the manual clock back by " + duration.negated() + " from " + instant()
              + "; a clock only moves forward (pass a positive or zero duration)");
    }
    long nanos = duration.toNanos();
    elapsedNanos.getAndUpdate(current -> Math.addExact(current, nanos));
  }

  /** Moves the clock to {@code nanoTime} if it is later than now; package-private for the scheduler. */
  void advanceTo(long nanoTime) {
    elapsedNanos.getAndUpdate(current -> Math.max(current, nanoTime));
  }

  /** The instant at which {@link #nanoTime()} reads {@code nanoTime}. */
  Instant instantAt(long nanoTime) {
    return start.plusNanos(nanoTime);
  }

  @Override
  public String toString() {
    return "ManualClock[" + instant() + ", +" + elapsed() + "]";
  }
}
