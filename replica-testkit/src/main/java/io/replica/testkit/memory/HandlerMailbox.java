package io.replica.testkit.memory;

import io.replica.spi.transport.MessageHandler;
import java.util.ArrayDeque;
import java.util.List;

/**
 * Runs the callbacks for one {@link MessageHandler} one at a time, in the order they were posted,
 * on the network's scheduler: one scheduler task per callback, so a simulation can interleave the
 * hosts at every message.
 *
 * <p>The SPI promises that one handler's methods are never called concurrently. Keying the mailbox
 * by handler (not by connection) keeps that promise even when the engine gives one handler to
 * several connections, on a scheduler with many threads.
 *
 * <p>All fields are guarded by the network's lock; {@link #post} must be called with it held, and
 * the {@code after} actions it adds must run once the lock is released.
 */
final class HandlerMailbox {
  final MessageHandler handler;
  private final InMemoryNetwork network;
  private final ArrayDeque<Runnable> callbacks = new ArrayDeque<>();
  private boolean scheduled;
  /** Connection ends that use this mailbox and have not yet had their onClosed callback run. */
  int users;

  HandlerMailbox(InMemoryNetwork network, MessageHandler handler) {
    this.network = network;
    this.handler = handler;
  }

  /** Queues {@code callback}; asks the scheduler for a run (in {@code after}) if none is pending. */
  void post(Runnable callback, List<Runnable> after) {
    callbacks.add(callback);
    if (!scheduled) {
      scheduled = true;
      after.add(() -> network.scheduler.execute(this::runOne));
    }
  }

  private void runOne() {
    Runnable callback;
    synchronized (network.lock) {
      callback = callbacks.poll();
    }
    try {
      if (callback != null) {
        callback.run();
      }
    } finally {
      boolean more;
      synchronized (network.lock) {
        more = !callbacks.isEmpty();
        if (!more) {
          scheduled = false;
        }
      }
      if (more) {
        network.scheduler.execute(this::runOne);
      }
    }
  }

  @Override
  public String toString() {
    return "mailbox of " + handler;
  }
}
