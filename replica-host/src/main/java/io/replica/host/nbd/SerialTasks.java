package io.replica.host.nbd;

import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one connection's disk I/O on the shared executor one task at a time, in arrival order,
 * so replies leave in request order and a flush follows the writes before it. One task per
 * hand-off to the executor, so busy connections take turns.
 */
final class SerialTasks {
  private static final Logger LOG = LoggerFactory.getLogger(SerialTasks.class);

  private final Executor executor;
  private final ArrayDeque<Runnable> queue = new ArrayDeque<>();
  private final CompletableFuture<Void> idleAfterClose = new CompletableFuture<>();
  private boolean running;
  private boolean closed;

  SerialTasks(Executor executor) {
    this.executor = executor;
  }

  /**
   * Queues a task.
   *
   * @throws java.util.concurrent.RejectedExecutionException if the executor refuses work
   */
  void submit(Runnable task) {
    synchronized (this) {
      queue.add(task);
      if (running) {
        return;
      }
      running = true;
    }
    handOff();
  }

  private void handOff() {
    try {
      executor.execute(this::runOne);
    } catch (RuntimeException e) {
      synchronized (this) {
        queue.clear();
        running = false;
        if (closed) {
          idleAfterClose.complete(null);
        }
      }
      throw e;
    }
  }

  private void runOne() {
    Runnable r;
    synchronized (this) {
      r = queue.poll();
    }
    try {
      if (r != null) {
        r.run();
      }
    } catch (RuntimeException | Error e) {
      LOG.error("NBD I/O task failed unexpectedly", e);
    }
    synchronized (this) {
      if (queue.isEmpty()) {
        running = false;
        if (closed) {
          idleAfterClose.complete(null);
        }
        return;
      }
    }
    try {
      handOff();
    } catch (RuntimeException e) {
      LOG.warn("the NBD I/O executor refused work ({}); the remaining requests of a connection"
          + " are dropped", e.toString());
    }
  }

  /** No more tasks will come; the future completes once the last queued task has run. */
  CompletableFuture<Void> close() {
    synchronized (this) {
      closed = true;
      if (!running) {
        idleAfterClose.complete(null);
      }
    }
    return idleAfterClose;
  }
}
