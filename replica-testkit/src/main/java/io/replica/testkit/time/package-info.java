/**
 * A manual clock and scheduler: time moves only when a test says so, and tasks run in a
 * deterministic order.
 *
 * <p>{@link io.replica.testkit.time.ManualClock} is the engine's {@link io.replica.spi.time.Clock};
 * {@link io.replica.testkit.time.ManualScheduler} is its {@link io.replica.spi.time.Scheduler} on that
 * clock. A test or simulation drives both from one thread with
 * {@link io.replica.testkit.time.ManualScheduler#advance(java.time.Duration)},
 * {@link io.replica.testkit.time.ManualScheduler#runUntilIdle()} and
 * {@link io.replica.testkit.time.ManualScheduler#runNext()}, so the same inputs always give the same
 * run.
 */
@NullMarked
package io.replica.testkit.time;

import org.jspecify.annotations.NullMarked;
