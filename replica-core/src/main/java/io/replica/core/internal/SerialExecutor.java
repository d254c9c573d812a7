package io.replica.core.internal;

import io.replica.spi.time.Scheduler;
import java.util.ArrayDeque;
import java.util.concurrent.Executor;

/**
 * Runs tasks one at a time, in submission order, on the engine's scheduler; used where order
 * matters (one connection's messages, event delivery) whatever threads the scheduler has.
 */
final class SerialExecutor implements Executor {
  private final Scheduler scheduler;
  private final ArrayDeque<Runnable> queue = new ArrayDeque<>();
  private boolean draining;

  SerialExecutor(Scheduler scheduler) {
    this.scheduler = scheduler;
  }

  @Override
  public void execute(Runnable task) {
    synchronized (queue) {
      queue.add(task);
      if (draining) {
        return;
      }
      draining = true;
    }
    scheduler.execute(this::drain);
  }

  private void drain() {
    while (true) {
      Runnable next;
      synchronized (queue) {
        next = queue.poll();
        if (next == null) {
          draining = false;
          return;
        }
      }
      next.run();
    }
  }
}
