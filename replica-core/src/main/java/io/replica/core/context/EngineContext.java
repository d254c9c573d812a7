package io.replica.core.context;

import io.replica.api.event.ReplicationEvent;
import io.replica.core.testing.Mutation;
import io.replica.spi.time.Clock;
import io.replica.spi.time.Scheduler;
import java.time.Duration;
import java.util.concurrent.RejectedExecutionException;

/**
 * What a relationship, a link or a verification needs of the engine that runs it, and nothing
 * more: the host's name, its clock and scheduler, the serial loop, the event sink.
 */
public interface EngineContext {

  /** This host's name, as peers and operators know it. */
  String hostName();

  /** The only source of time in core (wall clock and monotonic nanoseconds). */
  Clock clock();

  /** The only source of timers and threads in core. */
  Scheduler scheduler();

  /**
   * Runs {@code task} now, on the calling thread, under the engine's lock; nothing runs once the
   * engine is closed. For code that already runs on the engine's scheduler (timers, messages).
   *
   * @return whether the task ran (false: the engine is closed)
   */
  boolean runLocked(Runnable task);

  /**
   * Runs {@code task} later on the engine's scheduler, under its lock: how a future completed on
   * a foreign thread (a transport's, an embedder's) comes back into the engine. Once the engine
   * is closed the task is dropped; use {@link #hop(Runnable, Runnable)} when it releases something.
   */
  default void hop(Runnable task) {
    hop(task, () -> { });
  }

  /**
   * As {@link #hop(Runnable)}, but if the engine closed before the task could run (or its
   * scheduler refuses work), {@code whenClosed} runs instead, without the lock: what the task
   * would have released (a connection, a quiesced guest) is released all the same.
   */
  default void hop(Runnable task, Runnable whenClosed) {
    try {
      scheduler().execute(() -> {
        if (!runLocked(task)) {
          whenClosed.run();
        }
      });
    } catch (RejectedExecutionException shutDown) {
      whenClosed.run();
    }
  }

  /** Hands an event to the listeners, in order, off the caller's thread. */
  void emit(ReplicationEvent event);

  /** How often statistics roll over (the replica server settings' monitoring interval). */
  Duration monitoringInterval();

  /** Whether the simulation switched on {@code mutation} in this engine; false in production. */
  boolean mutated(Mutation mutation);
}
