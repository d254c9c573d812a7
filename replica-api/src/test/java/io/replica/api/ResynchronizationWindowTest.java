package io.replica.api;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import org.junit.jupiter.api.Test;

class ResynchronizationWindowTest {

  @Test
  void hyperVsDefaultWindowSpansMidnight() {
    ResynchronizationWindow w = ResynchronizationWindow.HYPER_V_DEFAULT;
    assertTrue(w.contains(Instant.parse("2026-03-01T18:30:00Z")));
    assertTrue(w.contains(Instant.parse("2026-03-01T23:59:59Z")));
    assertTrue(w.contains(Instant.parse("2026-03-02T05:59:59Z")));
    assertFalse(w.contains(Instant.parse("2026-03-02T06:00:00Z")));
    assertFalse(w.contains(Instant.parse("2026-03-02T12:00:00Z")));
    assertFalse(w.contains(Instant.parse("2026-03-02T18:29:59Z")));
  }

  @Test
  void alwaysContainsEveryInstant() {
    assertTrue(ResynchronizationWindow.ALWAYS.contains(Instant.parse("2026-03-02T12:34:56Z")));
  }

  @Test
  void theThresholdIsAShareOfTheDisks() {
    assertThrows(IllegalArgumentException.class, () -> ReplicationSettings.builder("r").resynchronizationThreshold(0));
    assertThrows(IllegalArgumentException.class, () -> ReplicationSettings.builder("r").resynchronizationThreshold(1.5));
    assertThrows(IllegalArgumentException.class,
        () -> ReplicationSettings.builder("r").resynchronizationThreshold(Double.NaN));
    ReplicationSettings s = ReplicationSettings.builder("r").resynchronizationThreshold(0.25)
        .autoResynchronization(null).build();
    assertTrue(s.resynchronizationThreshold() == 0.25 && s.autoResynchronization().isEmpty());
    assertTrue(s.toBuilder().build().equals(s));
  }
}
