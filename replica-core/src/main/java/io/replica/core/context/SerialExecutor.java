package io.replica.core.context;

import io.replica.spi.time.Scheduler;
import java.util.ArrayDeque;
import java.util.concurrent.Executor;

/**
 * Runs tasks one at a time, in submission order, on the engine's scheduler; used where order
 * matters (one connection's messages, event delivery) whatever threads the scheduler has.
 */
public final class SerialExecutor implements Executor {
  private final Scheduler scheduler;
  private final ArrayDeque<Runnable> queue = new ArrayDeque<>();
  /** A drain task is submitted to the scheduler and has not started. */
  private boolean scheduled;
  /** Some thread is running tasks from the queue. */
  private boolean running;

  public SerialExecutor(Scheduler scheduler) {
    this.scheduler = scheduler;
  }

  @Override
  public void execute(Runnable task) {
    synchronized (queue) {
      queue.add(task);
      if (scheduled || running) {
        return;
      }
      scheduled = true;
    }
    submitDrain();
  }

  private void submitDrain() {
    scheduler.execute(() -> {
      synchronized (queue) {
        scheduled = false;
      }
      drain();
    });
  }

  /**
   * Runs the queued tasks now, on the caller's thread, unless another thread is running them;
   * used when the owner closes so that nothing queued is left behind.
   */
  public void runPending() {
    drain();
  }

  private void drain() {
    synchronized (queue) {
      if (running) {
        return;
      }
      running = true;
    }
    while (true) {
      Runnable next;
      synchronized (queue) {
        next = queue.poll();
        if (next == null) {
          running = false;
          return;
        }
      }
      try {
        next.run();
      } catch (RuntimeException | Error e) {
        // The failure goes to the caller; the tasks behind it still run.
        boolean resubmit;
        synchronized (queue) {
          running = false;
          resubmit = !queue.isEmpty() && !scheduled;
          scheduled |= resubmit;
        }
        if (resubmit) {
          submitDrain();
        }
        throw e;
      }
    }
  }
}
