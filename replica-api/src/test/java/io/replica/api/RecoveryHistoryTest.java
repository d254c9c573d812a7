package io.replica.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class RecoveryHistoryTest {

  private static final Duration HOUR = Duration.ofHours(1);

  @Test
  void latestOnly() {
    RecoveryHistory h = RecoveryHistory.latestOnly();
    assertEquals(0, h.additionalPoints());
    assertEquals(RecoveryHistory.DEFAULT_POINT_INTERVAL, h.pointInterval());
    assertEquals(Duration.ofHours(1), h.pointInterval());
    assertEquals(0, h.applicationConsistentEvery());
    assertTrue(h.isLatestOnly());
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 1, 12, 23, 24})
  void zeroToTwentyFourPointsAccepted(int points) {
    RecoveryHistory h = RecoveryHistory.additional(points);
    assertEquals(points, h.additionalPoints());
    assertEquals(HOUR, h.pointInterval());
    assertEquals(0, h.applicationConsistentEvery());
    assertEquals(points == 0, h.isLatestOnly());
  }

  @ParameterizedTest
  @ValueSource(ints = {-1, 25, 100, Integer.MIN_VALUE, Integer.MAX_VALUE})
  void pointsOutOfRangeRejected(int points) {
    var e = assertThrows(IllegalArgumentException.class, () -> new RecoveryHistory(points, HOUR, 0));
    assertTrue(e.getMessage().contains(points + " additional points"), e.getMessage());
    assertTrue(e.getMessage().contains("0 to 24"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> RecoveryHistory.additional(points));
  }

  @Test
  void maxIsHyperVs() {
    assertEquals(24, RecoveryHistory.MAX_ADDITIONAL_POINTS);
  }

  @Test
  void intervalOfAtLeastOneMinuteAccepted() {
    assertEquals(Duration.ofMinutes(1), new RecoveryHistory(3, Duration.ofMinutes(1), 0).pointInterval());
    assertEquals(Duration.ofDays(1), new RecoveryHistory(3, Duration.ofDays(1), 0).pointInterval());
  }

  @Test
  void intervalUnderOneMinuteRejected() {
    for (Duration d : new Duration[] {
        Duration.ofSeconds(59), Duration.ofMinutes(1).minusNanos(1), Duration.ZERO, Duration.ofMinutes(-5)}) {
      var e = assertThrows(IllegalArgumentException.class, () -> new RecoveryHistory(3, d, 0), d.toString());
      assertTrue(e.getMessage().contains("interval " + d), e.getMessage());
      assertTrue(e.getMessage().contains("at least one minute"), e.getMessage());
    }
    // also checked when only the latest point is kept
    assertThrows(IllegalArgumentException.class, () -> new RecoveryHistory(0, Duration.ofSeconds(1), 0));
  }

  @Test
  void nullIntervalRejected() {
    assertThrows(NullPointerException.class, () -> new RecoveryHistory(1, null, 0));
  }

  @Test
  void applicationConsistentPointsWithAdditionalPoints() {
    RecoveryHistory h = new RecoveryHistory(24, HOUR, 4);
    assertEquals(4, h.applicationConsistentEvery());
    assertFalse(h.isLatestOnly());
    new RecoveryHistory(1, HOUR, 1);
  }

  @Test
  void applicationConsistentPointsNeedAdditionalPoints() {
    var e = assertThrows(IllegalArgumentException.class, () -> new RecoveryHistory(0, HOUR, 1));
    assertTrue(e.getMessage().contains("application-consistent"), e.getMessage());
    assertTrue(e.getMessage().contains("additional recovery points"), e.getMessage());
  }

  @ParameterizedTest
  @ValueSource(ints = {-1, Integer.MIN_VALUE})
  void negativeApplicationConsistentEveryRejected(int every) {
    var e = assertThrows(IllegalArgumentException.class, () -> new RecoveryHistory(4, HOUR, every));
    assertTrue(e.getMessage().contains("every " + every + " points"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> new RecoveryHistory(0, HOUR, every));
  }

  @Test
  void valueEquality() {
    assertEquals(RecoveryHistory.additional(3), new RecoveryHistory(3, Duration.ofMinutes(60), 0));
    assertEquals(RecoveryHistory.latestOnly().hashCode(), new RecoveryHistory(0, HOUR, 0).hashCode());
  }
}
