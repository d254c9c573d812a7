package io.replica.testkit.time;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ManualClockTest {
  private static final Instant START = Instant.parse("2025-03-01T12:00:00Z");

  @Test
  void standsStillUntilAdvanced() {
    ManualClock clock = new ManualClock(START);
    assertEquals(START, clock.instant());
    assertEquals(0L, clock.nanoTime());
    assertEquals(START, clock.instant());
  }

  @Test
  void instantAndNanoTimeMoveTogether() {
    ManualClock clock = new ManualClock(START);
    clock.advance(Duration.ofMillis(1500));
    clock.advance(Duration.ofNanos(7));
    assertEquals(START.plusMillis(1500).plusNanos(7), clock.instant());
    assertEquals(1_500_000_007L, clock.nanoTime());
    assertEquals(Duration.ofNanos(1_500_000_007L), clock.elapsed());
  }

  @Test
  void zeroAdvanceIsAllowed() {
    ManualClock clock = new ManualClock(START);
    clock.advance(Duration.ZERO);
    assertEquals(START, clock.instant());
  }

  @Test
  void refusesToGoBackwards() {
    ManualClock clock = new ManualClock(START);
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> clock.advance(Duration.ofSeconds(-1)));
    assertTrue(e.getMessage().contains("only moves forward"), e.getMessage());
    assertEquals(0L, clock.nanoTime());
  }

  @Test
  void rejectsNulls() {
    assertThrows(NullPointerException.class, () -> new ManualClock(null));
    assertThrows(NullPointerException.class, () -> new ManualClock(START).advance(null));
  }

  @Test
  void concurrentAdvancesAllCount() throws InterruptedException {
    ManualClock clock = new ManualClock(START);
    List<Thread> threads = new ArrayList<>();
    for (int t = 0; t < 4; t++) {
      Thread thread = new Thread(() -> {
        for (int i = 0; i < 10_000; i++) {
          clock.advance(Duration.ofNanos(1));
        }
      });
      threads.add(thread);
      thread.start();
    }
    for (Thread thread : threads) {
      thread.join();
    }
    assertEquals(40_000L, clock.nanoTime());
  }
}
