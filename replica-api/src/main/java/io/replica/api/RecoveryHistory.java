package io.replica.api;

import java.time.Duration;
import java.util.Objects;

/**
 * Which recovery points the replica keeps: the latest only, or up to 24 additional points taken
 * at an interval, every k-th of them application-consistent.
 *
 * @param additionalPoints 0 (latest only) to 24
 * @param pointInterval time between additional points, at least one minute
 * @param applicationConsistentEvery every how many points one is application-consistent; 0 for none
 */
public record RecoveryHistory(int additionalPoints, Duration pointInterval, int applicationConsistentEvery) {

  /** The most additional recovery points, as in Hyper-V. */
  public static final int MAX_ADDITIONAL_POINTS = 24;

  /** The default interval between additional recovery points. */
  public static final Duration DEFAULT_POINT_INTERVAL = Duration.ofHours(1);

  /** @throws IllegalArgumentException naming the field that is out of range */
  public RecoveryHistory {
    Objects.requireNonNull(pointInterval, "pointInterval");
    if (additionalPoints < 0 || additionalPoints > MAX_ADDITIONAL_POINTS) {
      throw new IllegalArgumentException(
          "recovery history of " + additionalPoints + " additional points is out of range; allowed: 0 to "
              + MAX_ADDITIONAL_POINTS);
    }
    if (pointInterval.compareTo(Duration.ofMinutes(1)) < 0) {
      throw new IllegalArgumentException(
          "recovery point interval " + pointInterval + " is too short; use at least one minute");
    }
    if (applicationConsistentEvery < 0 || additionalPoints == 0 && applicationConsistentEvery > 0) {
      throw new IllegalArgumentException(
          "application-consistent point every " + applicationConsistentEvery + " points is invalid;"
              + " use 0 for none, or a positive number together with additional recovery points");
    }
  }

  /** Only the latest point (Hyper-V's default). */
  public static RecoveryHistory latestOnly() {
    return new RecoveryHistory(0, DEFAULT_POINT_INTERVAL, 0);
  }

  /** {@code points} additional crash-consistent points, one an hour. */
  public static RecoveryHistory additional(int points) {
    return new RecoveryHistory(points, DEFAULT_POINT_INTERVAL, 0);
  }

  /** Whether only the latest point is kept. */
  public boolean isLatestOnly() {
    return additionalPoints == 0;
  }
}
