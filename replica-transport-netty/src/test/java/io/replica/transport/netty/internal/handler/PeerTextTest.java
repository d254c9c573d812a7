package io.replica.transport.netty.internal.handler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** A peer's text in a log line: one line, capped, marked as the peer's. */
class PeerTextTest {

  @Test
  void lineBreaksAndControlsAreEscaped() {
    assertEquals("peer said: \"bye\\n2026-12-03 INFO forged\\r\\t\\u0000\\u001b[31m\"",
        PeerText.said("bye\n2026-12-03 INFO forged\r\t\u0000\u001b[31m"));
    assertEquals("\"\\u2028\\u2029\\u202e\\u200b\\\"quoted\\\" \\\\ caf\u00e9 \uD83D\uDE00\"",
        PeerText.quoted("\u2028\u2029\u202e\u200b\"quoted\" \\ caf\u00e9 \uD83D\uDE00"));
    assertEquals("lone \\ud800 surrogate", PeerText.escaped("lone \uD800 surrogate"));
    assertEquals("'single' \"double\"", PeerText.escaped("'single' \"double\""));
  }

  @Test
  void longTextIsCappedAndSaysHowMuchWasLeftOut() {
    String said = PeerText.said("x".repeat(PeerText.CHARS_MAX + 1234) + "\n");
    assertEquals("peer said: \"" + "x".repeat(PeerText.CHARS_MAX) + "\" (1235 more characters)",
        said);
    String emoji = "\uD83D\uDE00".repeat(PeerText.CHARS_MAX + 1);
    assertTrue(PeerText.escaped(emoji).endsWith("\uD83D\uDE00 (1 more characters)"),
        "counted in characters, never cut inside one");
  }
}
