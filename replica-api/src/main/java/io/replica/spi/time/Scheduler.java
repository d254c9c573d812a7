package io.replica.spi.time;

import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;

/**
 * Runs the engine's tasks. The engine never creates threads of its own: everything it does in
 * the background (cycles, message handling, retries) runs through the scheduler it was built with.
 *
 * <p>Tasks given to one scheduler may run concurrently; the engine serializes its own state.
 */
public interface Scheduler {

  /** Runs {@code task} soon. */
  void execute(Runnable task);

  /** Runs {@code task} once after {@code delay} has passed on the engine's {@link Clock}. */
  Cancellable schedule(Runnable task, Duration delay);

  /**
   * A scheduler on an executor the embedder owns (and shuts down). The executor must keep the
   * clock that the engine is given, which is the case for {@link Clock#system()}.
   */
  static Scheduler of(ScheduledExecutorService executor) {
    return new ExecutorScheduler(executor);
  }
}
