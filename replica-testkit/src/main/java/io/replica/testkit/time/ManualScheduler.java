package io.replica.testkit.time;

import io.replica.spi.time.Cancellable;
import io.replica.spi.time.Scheduler;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeSet;

/**
 * A {@link Scheduler} that runs nothing on its own: tasks wait in a queue until the test calls
 * {@link #runUntilIdle()}, {@link #runNext()} or {@link #advance(Duration)}, and then run one at a
 * time on the calling thread. That makes a run of the engine a pure function of its inputs and the
 * order of the test's calls, which is what lets a failing simulation seed replay exactly.
 *
 * <p>Order is total and deterministic: by due time on the {@link ManualClock}, then by the order in
 * which tasks were submitted. {@link #execute(Runnable)} makes a task due now;
 * {@link #schedule(Runnable, Duration)} makes it due at now plus the delay (a negative delay counts
 * as zero, as with {@link java.util.concurrent.ScheduledExecutorService}).
 *
 * <p>Tasks may be submitted and cancelled from any thread, but only one thread at a time may run
 * them, and a task may not call the run methods itself (that would run tasks inside tasks, in an
 * order no real scheduler has); both are refused with {@link IllegalStateException}.
 *
 * <p>Failures are never swallowed: a task that throws a {@link RuntimeException} stops the run
 * method, which throws an {@link IllegalStateException} with the task's exception as its cause.
 * Errors (such as a failed assertion) propagate unchanged. The queue stays consistent, so a test
 * may catch the failure and go on. A task that keeps resubmitting itself without delay would make
 * {@link #runUntilIdle()} loop forever; a run method therefore gives up with an
 * {@link IllegalStateException} after {@link #maxTasksPerRun()} tasks.
 */
public final class ManualScheduler implements Scheduler {

  /** How many tasks one call of a run method may run before it assumes a runaway loop. */
  public static final int DEFAULT_MAX_TASKS_PER_RUN = 10_000_000;

  private static final Comparator<ScheduledTask> ORDER =
      Comparator.<ScheduledTask>comparingLong(task -> task.dueNanos)
          .thenComparingLong(task -> task.sequence);

  private final ManualClock clock;
  private final int maxTasksPerRun;
  private final Object lock = new Object();
  private final TreeSet<ScheduledTask> queue = new TreeSet<>(ORDER); // guarded by lock
  private long nextSequence; // guarded by lock
  private Thread runner; // guarded by lock; the thread inside a run method, or null

  /**
   * A scheduler on {@code clock} that allows {@link #DEFAULT_MAX_TASKS_PER_RUN} tasks per run call.
   *
   * @throws NullPointerException if {@code clock} is null
   */
  public ManualScheduler(ManualClock clock) {
    this(clock, DEFAULT_MAX_TASKS_PER_RUN);
  }

  /**
   * A scheduler on {@code clock} whose run methods give up after {@code maxTasksPerRun} tasks in one
   * call; a simulation with a hard step budget passes a smaller number.
   *
   * @throws NullPointerException if {@code clock} is null
   * @throws IllegalArgumentException if {@code maxTasksPerRun} is not positive
   */
  public ManualScheduler(ManualClock clock, int maxTasksPerRun) {
    this.clock = Objects.requireNonNull(clock, "clock");
    if (maxTasksPerRun <= 0) {
      throw new IllegalArgumentException(
          "maxTasksPerRun " + maxTasksPerRun + " is invalid; pass a positive number of tasks");
    }
    this.maxTasksPerRun = maxTasksPerRun;
  }

  /** The clock that due times are read from and that {@link #advance(Duration)} moves. */
  public ManualClock clock() {
    return clock;
  }

  /** The most tasks one call of {@link #runUntilIdle()} or {@link #advance(Duration)} runs. */
  public int maxTasksPerRun() {
    return maxTasksPerRun;
  }

  /** Queues {@code task} as due now; it runs at the next run call, after tasks queued before it. */
  @Override
  public void execute(Runnable task) {
    submit(task, 0L);
  }

  /**
   * Queues {@code task} as due {@code delay} after the clock's current time.
   *
   * @return a handle whose {@link Cancellable#cancel()} removes the task if it has not started
   */
  @Override
  public Cancellable schedule(Runnable task, Duration delay) {
    Objects.requireNonNull(delay, "delay");
    long delayNanos = delay.isNegative() ? 0L : saturatedNanos(delay);
    return submit(task, delayNanos);
  }

  /**
   * Runs every task that is due at or before the current time, including tasks those tasks submit
   * with no or zero delay, until none is due. The clock does not move.
   *
   * @return how many tasks ran
   * @throws IllegalStateException if a task failed (the cause), if more than
   *     {@link #maxTasksPerRun()} tasks ran, or if called from a task or while another thread runs
   *     tasks
   */
  public int runUntilIdle() {
    Run run = enter("runUntilIdle");
    try {
      drainDue(run);
      return run.count;
    } finally {
      exit();
    }
  }

  /**
   * Moves the clock forward by {@code duration}, stopping at the due time of each task on the way
   * (in order) to run it and everything else due by then, and ends exactly {@code duration} after
   * the time it started from. Tasks due now run first.
   *
   * @throws IllegalArgumentException if {@code duration} is negative
   * @throws IllegalStateException as for {@link #runUntilIdle()}; the limit applies to the whole call
   */
  public void advance(Duration duration) {
    Objects.requireNonNull(duration, "duration");
    if (duration.isNegative()) {
      throw new IllegalArgumentException(
          "cannot advance the manual scheduler by " + duration + "; time only moves forward");
    }
    Run run = enter("advance");
    try {
      long target = Math.addExact(clock.nanoTime(), duration.toNanos());
      while (true) {
        long due;
        synchronized (lock) {
          if (queue.isEmpty() || queue.first().dueNanos > target) {
            break;
          }
          due = queue.first().dueNanos;
        }
        clock.advanceTo(due);
        drainDue(run);
      }
      clock.advanceTo(target);
    } finally {
      exit();
    }
  }

  /**
   * Runs the first task in order, moving the clock to its due time first if that is later than
   * now; lets a test step through the engine one task at a time.
   *
   * @return false if no task was queued (the clock does not move)
   * @throws IllegalStateException if the task failed, or if called from a task or while another
   *     thread runs tasks
   */
  public boolean runNext() {
    Run run = enter("runNext");
    try {
      ScheduledTask task;
      synchronized (lock) {
        task = queue.pollFirst();
        if (task == null) {
          return false;
        }
      }
      clock.advanceTo(task.dueNanos);
      run.run(task);
      return true;
    } finally {
      exit();
    }
  }

  /** When the first queued task is due (possibly in the past), or empty if none is queued. */
  public Optional<Instant> nextDueTime() {
    synchronized (lock) {
      return queue.isEmpty()
          ? Optional.empty()
          : Optional.of(clock.instantAt(queue.first().dueNanos));
    }
  }

  /** How many tasks are queued, due or not; cancelled and finished tasks are not counted. */
  public int pendingTasks() {
    synchronized (lock) {
      return queue.size();
    }
  }

  @Override
  public String toString() {
    synchronized (lock) {
      return "ManualScheduler[" + clock.instant() + ", " + queue.size() + " pending]";
    }
  }

  private ScheduledTask submit(Runnable task, long delayNanos) {
    Objects.requireNonNull(task, "task");
    synchronized (lock) {
      long now = clock.nanoTime();
      long due = now + delayNanos;
      if (due < now) {
        due = Long.MAX_VALUE; // a delay of centuries; it never comes due
      }
      ScheduledTask scheduled = new ScheduledTask(task, due, nextSequence++);
      queue.add(scheduled);
      return scheduled;
    }
  }

  private void drainDue(Run run) {
    while (true) {
      ScheduledTask task;
      synchronized (lock) {
        if (queue.isEmpty() || queue.first().dueNanos > clock.nanoTime()) {
          return;
        }
        task = queue.pollFirst();
      }
      run.run(task);
    }
  }

  private Run enter(String method) {
    synchronized (lock) {
      Thread current = Thread.currentThread();
      if (runner == current) {
        throw new IllegalStateException(
            "ManualScheduler." + method + " was called from inside a scheduled task; tasks run one"
                + " at a time, so submit the work with execute or schedule instead");
      }
      if (runner != null) {
        throw new IllegalStateException(
            "ManualScheduler." + method + " was called on thread '" + current.getName()
                + "' while thread '" + runner.getName() + "' runs tasks; drive the scheduler from"
                + " one thread");
      }
      runner = current;
      return new Run();
    }
  }

  private void exit() {
    synchronized (lock) {
      runner = null;
    }
  }

  private static long saturatedNanos(Duration duration) {
    try {
      return duration.toNanos();
    } catch (ArithmeticException e) {
      return Long.MAX_VALUE;
    }
  }

  /** The budget and count of one run call. */
  private final class Run {
    int count;

    void run(ScheduledTask task) {
      if (count >= maxTasksPerRun) {
        synchronized (lock) {
          queue.add(task); // not run: put it back so the queue stays as it was
        }
        throw new IllegalStateException(
            "ManualScheduler ran " + count + " tasks in one call without becoming idle; a task"
                + " probably resubmits itself without delay (next: " + task + "). Fix the loop, or"
                + " pass a larger maxTasksPerRun to the constructor if the work is real");
      }
      count++;
      try {
        task.runnable.run();
      } catch (RuntimeException e) {
        throw new IllegalStateException(
            "scheduled " + task + " failed at " + clock.instant() + ": " + e, e);
      }
    }
  }

  /** A queued task; its handle cancels it. */
  private final class ScheduledTask implements Cancellable {
    final Runnable runnable;
    final long dueNanos;
    final long sequence;

    ScheduledTask(Runnable runnable, long dueNanos, long sequence) {
      this.runnable = runnable;
      this.dueNanos = dueNanos;
      this.sequence = sequence;
    }

    @Override
    public boolean cancel() {
      synchronized (lock) {
        return queue.remove(this);
      }
    }

    @Override
    public String toString() {
      return "task #" + sequence + " (" + runnable + ") due at " + clock.instantAt(dueNanos);
    }
  }
}
