package io.replica.cli;

import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Runs a service in the foreground, as systemd's {@code Type=simple} expects, until SIGTERM or
 * SIGINT: a shutdown hook stops it and waits until it has closed, and the JVM then exits 143 or
 * 130 (128 plus the signal's number; give systemd {@code SuccessExitStatus=143}). {@code replica
 * host} and {@code replica server} both run this way.
 */
final class Foreground {
  /** How long a signal waits for the service to close before the JVM goes anyway. */
  static final Duration CLOSE_TIME_MAX = Duration.ofSeconds(30);

  /** Counted down to stop the running service; tests stop it without a signal. */
  final CountDownLatch stop = new CountDownLatch(1);
  private final String threadName;

  /** @param threadName the shutdown hook's thread, e.g. "replica-host-stop" */
  Foreground(String threadName) {
    this.threadName = threadName;
  }

  /**
   * Runs {@code start}, which says what runs and returns 0, or another exit status when it
   * cannot start; then waits until stopped (or interrupted). {@code close} runs in every case,
   * before a signal lets the JVM exit.
   *
   * @return the exit status of {@code start}, 0 after a stop; after a signal the JVM's status
   *     wins
   */
  int run(Callable<Integer> start, Runnable close) throws Exception {
    CountDownLatch closed = new CountDownLatch(1);
    Thread hook = new Thread(() -> {
      stop.countDown();
      try {
        closed.await(CLOSE_TIME_MAX.toMillis(), TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }, threadName);
    Runtime.getRuntime().addShutdownHook(hook);
    try {
      int started = start.call();
      if (started != 0) {
        return started;
      }
      stop.await();
      return 0;
    } catch (InterruptedException e) {
      return 0;
    } finally {
      close.run();
      closed.countDown();
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException e) {
        // The JVM is shutting down already: the hook runs, and finds the service closed.
      }
    }
  }
}
