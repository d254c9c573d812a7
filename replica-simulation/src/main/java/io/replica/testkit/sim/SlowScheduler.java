package io.replica.testkit.sim;

import io.replica.spi.time.Cancellable;
import io.replica.spi.time.Scheduler;
import java.time.Duration;

/**
 * A host's view of the shared scheduler that starts every task {@link #latency} late: a host
 * whose disks are slow gets to everything later, in the same order.
 */
final class SlowScheduler implements Scheduler {
  private final Scheduler shared;
  Duration latency = Duration.ZERO;

  SlowScheduler(Scheduler shared) {
    this.shared = shared;
  }

  @Override
  public void execute(Runnable task) {
    if (latency.isZero()) {
      shared.execute(task);
    } else {
      shared.schedule(task, latency);
    }
  }

  @Override
  public Cancellable schedule(Runnable task, Duration delay) {
    return shared.schedule(task, delay.plus(latency));
  }
}
