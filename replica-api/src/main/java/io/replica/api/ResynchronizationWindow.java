package io.replica.api;

import java.time.Instant;
import java.time.LocalTime;
import java.time.ZoneId;
import java.util.Objects;

/**
 * The daily window in which a required resynchronization starts by itself; it may span midnight.
 *
 * @param start when the window opens
 * @param end when it closes (before {@code start} for a window across midnight)
 * @param zone the time zone of both
 */
public record ResynchronizationWindow(LocalTime start, LocalTime end, ZoneId zone) {

  /** Hyper-V's default: 18:30 to 06:00. */
  public static final ResynchronizationWindow HYPER_V_DEFAULT =
      new ResynchronizationWindow(LocalTime.of(18, 30), LocalTime.of(6, 0), ZoneId.of("UTC"));

  /** Around the clock: a required resynchronization starts at once. */
  public static final ResynchronizationWindow ALWAYS =
      new ResynchronizationWindow(LocalTime.MIDNIGHT, LocalTime.MIDNIGHT, ZoneId.of("UTC"));

  public ResynchronizationWindow {
    Objects.requireNonNull(start, "start");
    Objects.requireNonNull(end, "end");
    Objects.requireNonNull(zone, "zone");
  }

  /** Whether {@code instant} falls in the window. */
  public boolean contains(Instant instant) {
    LocalTime t = instant.atZone(zone).toLocalTime();
    if (start.equals(end)) {
      return true;
    }
    return start.isBefore(end) ? !t.isBefore(start) && t.isBefore(end) : !t.isBefore(start) || t.isBefore(end);
  }
}
