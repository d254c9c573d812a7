package io.replica.testkit.time;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replica.spi.time.Cancellable;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ManualSchedulerTest {
  private static final Instant START = Instant.parse("2025-03-01T12:00:00Z");

  private final ManualClock clock = new ManualClock(START);
  private final ManualScheduler scheduler = new ManualScheduler(clock);
  private final List<String> ran = new ArrayList<>();

  private Runnable record(String name) {
    return () -> ran.add(name + "@" + clock.elapsed().toMillis());
  }

  @Test
  void nothingRunsUntilAsked() {
    scheduler.execute(record("a"));
    assertEquals(List.of(), ran);
    assertEquals(1, scheduler.pendingTasks());
    assertEquals(1, scheduler.runUntilIdle());
    assertEquals(List.of("a@0"), ran);
    assertEquals(0, scheduler.pendingTasks());
  }

  @Test
  void ordersByDueTimeThenSubmission() {
    scheduler.schedule(record("late"), Duration.ofMillis(20));
    scheduler.schedule(record("early1"), Duration.ofMillis(10));
    scheduler.execute(record("now1"));
    scheduler.schedule(record("early2"), Duration.ofMillis(10));
    scheduler.execute(record("now2"));

    scheduler.advance(Duration.ofMillis(30));

    assertEquals(List.of("now1@0", "now2@0", "early1@10", "early2@10", "late@20"), ran);
    assertEquals(Duration.ofMillis(30), clock.elapsed());
  }

  @Test
  void runUntilIdleRunsOnlyDueTasksAndKeepsTheClock() {
    scheduler.schedule(record("future"), Duration.ofSeconds(1));
    scheduler.execute(record("now"));
    assertEquals(1, scheduler.runUntilIdle());
    assertEquals(List.of("now@0"), ran);
    assertEquals(0L, clock.nanoTime());
    assertEquals(1, scheduler.pendingTasks());
  }

  @Test
  void runUntilIdleRunsWhatTasksSubmitWithoutDelay() {
    scheduler.execute(() -> {
      ran.add("first");
      scheduler.execute(() -> {
        ran.add("second");
        scheduler.schedule(() -> ran.add("third"), Duration.ZERO);
      });
      scheduler.schedule(() -> ran.add("later"), Duration.ofMillis(1));
    });
    assertEquals(3, scheduler.runUntilIdle());
    assertEquals(List.of("first", "second", "third"), ran);
    assertEquals(1, scheduler.pendingTasks());
  }

  @Test
  void advanceRunsEachTaskAtItsDueTimeIncludingTasksScheduledOnTheWay() {
    List<Long> seenAt = new ArrayList<>();
    scheduler.schedule(() -> {
      seenAt.add(clock.elapsed().toMillis());
      scheduler.schedule(() -> seenAt.add(clock.elapsed().toMillis()), Duration.ofMillis(5));
      scheduler.schedule(() -> seenAt.add(clock.elapsed().toMillis()), Duration.ofMillis(100));
    }, Duration.ofMillis(10));

    scheduler.advance(Duration.ofMillis(50));

    assertEquals(List.of(10L, 15L), seenAt);
    assertEquals(Duration.ofMillis(50), clock.elapsed());
    assertEquals(Optional.of(START.plusMillis(110)), scheduler.nextDueTime());
  }

  @Test
  void advanceRunsOverdueTasksFirst() {
    scheduler.schedule(record("overdue"), Duration.ofMillis(1));
    clock.advance(Duration.ofMillis(5)); // moved behind the scheduler's back
    scheduler.schedule(record("soon"), Duration.ofMillis(1));
    scheduler.advance(Duration.ofMillis(10));
    assertEquals(List.of("overdue@5", "soon@6"), ran);
    assertEquals(Duration.ofMillis(15), clock.elapsed());
  }

  @Test
  void advanceByZeroRunsDueTasks() {
    scheduler.execute(record("now"));
    scheduler.advance(Duration.ZERO);
    assertEquals(List.of("now@0"), ran);
  }

  @Test
  void advanceRejectsNegativeDurations() {
    assertThrows(IllegalArgumentException.class, () -> scheduler.advance(Duration.ofMillis(-1)));
  }

  @Test
  void runNextMovesTheClockToTheTaskAndRunsOnlyIt() {
    scheduler.schedule(record("b"), Duration.ofMillis(7));
    scheduler.schedule(record("c"), Duration.ofMillis(7));
    scheduler.schedule(record("a"), Duration.ofMillis(3));

    assertTrue(scheduler.runNext());
    assertEquals(List.of("a@3"), ran);
    assertTrue(scheduler.runNext());
    assertEquals(List.of("a@3", "b@7"), ran);
    assertEquals(Duration.ofMillis(7), clock.elapsed());
    assertTrue(scheduler.runNext());
    assertFalse(scheduler.runNext());
    assertEquals(Duration.ofMillis(7), clock.elapsed());
  }

  @Test
  void runNextDoesNotMoveTheClockBackForOverdueTasks() {
    scheduler.schedule(record("a"), Duration.ofMillis(3));
    clock.advance(Duration.ofMillis(10));
    assertTrue(scheduler.runNext());
    assertEquals(List.of("a@10"), ran);
  }

  @Test
  void nextDueTimeAndPendingTasks() {
    assertEquals(Optional.empty(), scheduler.nextDueTime());
    assertEquals(0, scheduler.pendingTasks());
    scheduler.schedule(record("x"), Duration.ofSeconds(2));
    scheduler.schedule(record("y"), Duration.ofSeconds(1));
    assertEquals(Optional.of(START.plusSeconds(1)), scheduler.nextDueTime());
    assertEquals(2, scheduler.pendingTasks());
  }

  @Test
  void cancelledTaskNeverRuns() {
    Cancellable cancellable = scheduler.schedule(record("x"), Duration.ofMillis(5));
    scheduler.schedule(record("y"), Duration.ofMillis(5));
    assertTrue(cancellable.cancel());
    assertFalse(cancellable.cancel());
    assertEquals(1, scheduler.pendingTasks());
    scheduler.advance(Duration.ofMillis(10));
    assertEquals(List.of("y@5"), ran);
  }

  @Test
  void cancelAfterRunningReturnsFalse() {
    Cancellable cancellable = scheduler.schedule(record("x"), Duration.ZERO);
    scheduler.runUntilIdle();
    assertFalse(cancellable.cancel());
  }

  @Test
  void aTaskCanCancelALaterOne() {
    Cancellable[] later = new Cancellable[1];
    scheduler.execute(() -> assertTrue(later[0].cancel()));
    later[0] = scheduler.schedule(record("later"), Duration.ofMillis(1));
    scheduler.advance(Duration.ofMillis(2));
    assertEquals(List.of(), ran);
  }

  @Test
  void negativeDelayCountsAsZero() {
    scheduler.schedule(record("x"), Duration.ofSeconds(-5));
    assertEquals(Optional.of(START), scheduler.nextDueTime());
    assertEquals(1, scheduler.runUntilIdle());
  }

  @Test
  void hugeDelayNeverComesDueButIsQueued() {
    scheduler.schedule(record("never"), Duration.ofDays(365L * 1000));
    scheduler.advance(Duration.ofDays(365));
    assertEquals(List.of(), ran);
    assertEquals(1, scheduler.pendingTasks());
  }

  @Test
  void failingTaskIsRethrownWrappedAndTheRestStaysQueued() {
    RuntimeException boom = new RuntimeException("boom");
    scheduler.execute(() -> {
      throw boom;
    });
    scheduler.execute(record("after"));

    IllegalStateException e = assertThrows(IllegalStateException.class, scheduler::runUntilIdle);
    assertSame(boom, e.getCause());
    assertTrue(e.getMessage().contains("scheduled task"), e.getMessage());
    assertTrue(e.getMessage().contains("failed"), e.getMessage());
    assertEquals(1, scheduler.pendingTasks());

    assertEquals(1, scheduler.runUntilIdle());
    assertEquals(List.of("after@0"), ran);
  }

  @Test
  void errorsPropagateUnwrapped() {
    AssertionError failed = new AssertionError("assertion in a task");
    scheduler.execute(() -> {
      throw failed;
    });
    AssertionError e = assertThrows(AssertionError.class, scheduler::runUntilIdle);
    assertSame(failed, e);
  }

  @Test
  void runawayLoopIsStopped() {
    ManualScheduler small = new ManualScheduler(clock, 100);
    Runnable[] loop = new Runnable[1];
    loop[0] = () -> small.execute(loop[0]);
    small.execute(loop[0]);

    IllegalStateException e = assertThrows(IllegalStateException.class, small::runUntilIdle);
    assertTrue(e.getMessage().contains("100 tasks"), e.getMessage());
    assertEquals(1, small.pendingTasks(), "the task that was not run stays queued");
  }

  @Test
  void runawayLoopWithTinyDelayIsStoppedInAdvance() {
    ManualScheduler small = new ManualScheduler(clock, 50);
    Runnable[] loop = new Runnable[1];
    loop[0] = () -> small.schedule(loop[0], Duration.ofNanos(1));
    small.execute(loop[0]);
    assertThrows(IllegalStateException.class, () -> small.advance(Duration.ofHours(1)));
  }

  @Test
  void theLimitCountsPerCall() {
    ManualScheduler small = new ManualScheduler(clock, 3);
    for (int i = 0; i < 3; i++) {
      small.execute(() -> {});
    }
    assertEquals(3, small.runUntilIdle());
    for (int i = 0; i < 3; i++) {
      small.execute(() -> {});
    }
    assertEquals(3, small.runUntilIdle());
    assertEquals(ManualScheduler.DEFAULT_MAX_TASKS_PER_RUN, scheduler.maxTasksPerRun());
  }

  @Test
  void rejectsANonPositiveLimit() {
    assertThrows(IllegalArgumentException.class, () -> new ManualScheduler(clock, 0));
  }

  @Test
  void aTaskMayNotRunTheSchedulerItself() {
    scheduler.execute(scheduler::runUntilIdle);
    IllegalStateException e = assertThrows(IllegalStateException.class, scheduler::runUntilIdle);
    IllegalStateException cause = assertInstanceOf(IllegalStateException.class, e.getCause());
    assertTrue(cause.getMessage().contains("inside a scheduled task"), cause.getMessage());
    // The scheduler is still usable afterwards.
    scheduler.execute(record("ok"));
    assertEquals(1, scheduler.runUntilIdle());
  }

  @Test
  void tasksSubmittedFromOtherThreadsRunOnTheCallingThread() throws InterruptedException {
    List<String> threads = new ArrayList<>();
    Thread submitter = new Thread(() -> {
      for (int i = 0; i < 1000; i++) {
        scheduler.execute(() -> threads.add(Thread.currentThread().getName()));
      }
    });
    submitter.start();
    submitter.join();
    assertEquals(1000, scheduler.runUntilIdle());
    assertEquals(1000, threads.size());
    assertTrue(threads.stream().allMatch(Thread.currentThread().getName()::equals));
  }

  @Test
  void rejectsNulls() {
    assertThrows(NullPointerException.class, () -> new ManualScheduler(null));
    assertThrows(NullPointerException.class, () -> scheduler.execute(null));
    assertThrows(NullPointerException.class, () -> scheduler.schedule(null, Duration.ZERO));
    assertThrows(NullPointerException.class, () -> scheduler.schedule(() -> {}, null));
    assertThrows(NullPointerException.class, () -> scheduler.advance(null));
  }

  @Test
  void sameSubmissionsGiveTheSameOrder() {
    assertEquals(runScript(), runScript());
  }

  private static List<String> runScript() {
    ManualClock clock = new ManualClock(START);
    ManualScheduler scheduler = new ManualScheduler(clock);
    List<String> order = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      int id = i;
      scheduler.schedule(() -> {
        order.add("t" + id);
        if (id % 3 == 0) {
          scheduler.schedule(() -> order.add("c" + id), Duration.ofMillis(id % 7));
        }
      }, Duration.ofMillis((id * 37) % 11));
    }
    scheduler.advance(Duration.ofSeconds(1));
    return order;
  }
}
