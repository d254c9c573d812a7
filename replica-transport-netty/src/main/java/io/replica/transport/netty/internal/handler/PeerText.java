package io.replica.transport.netty.internal.handler;

/**
 * Text a peer chose (an error frame's reason, a claimed host name, a principal) made safe for a
 * log line or a refusal reason: control and line-breaking characters escaped, so a peer cannot
 * forge log lines; the length capped, so it cannot fill the log; and marked as the peer's words,
 * so a reader does not take it for this host's own diagnosis.
 */
public final class PeerText {

  /** Characters of a peer's text kept in a line; the rest is counted, not shown. */
  public static final int CHARS_MAX = 200;

  private PeerText() {}

  /** {@code peer said: "<escaped text>"}. */
  public static String said(String text) {
    return "peer said: " + quoted(text);
  }

  /** The text escaped and capped, in double quotes. */
  public static String quoted(String text) {
    return '"' + escaped(text, true) + '"' + rest(text);
  }

  /**
   * The text escaped and capped, without quotes, for a value an error message already sets apart
   * (such as a principal in single quotes); a longer text ends with how much was left out.
   */
  public static String escaped(String text) {
    return escaped(text, false) + rest(text);
  }

  private static String rest(String text) {
    int shown = text.offsetByCodePoints(0, Math.min(CHARS_MAX, text.codePointCount(0,
        text.length())));
    return shown < text.length()
        ? " (" + text.codePointCount(shown, text.length()) + " more characters)" : "";
  }

  private static String escaped(String text, boolean quotes) {
    StringBuilder s = new StringBuilder(Math.min(text.length(), CHARS_MAX) + 16);
    int shown = 0;
    int i = 0;
    while (i < text.length() && shown < CHARS_MAX) {
      int c = text.codePointAt(i);
      i += Character.charCount(c);
      shown++;
      if ((quotes && c == '"') || c == '\\') {
        s.append('\\').appendCodePoint(c);
      } else if (c == '\n') {
        s.append("\\n");
      } else if (c == '\r') {
        s.append("\\r");
      } else if (c == '\t') {
        s.append("\\t");
      } else if (unsafe(c)) {
        s.append(String.format("\\u%04x", c));
      } else {
        s.appendCodePoint(c);
      }
    }
    return s.toString();
  }

  /**
   * Control characters, line and paragraph separators, and the format characters (bidirectional
   * overrides among them) that make a line show other than what it holds.
   */
  private static boolean unsafe(int c) {
    int type = Character.getType(c);
    return Character.isISOControl(c) || type == Character.LINE_SEPARATOR
        || type == Character.PARAGRAPH_SEPARATOR || type == Character.FORMAT
        || type == Character.SURROGATE || type == Character.UNASSIGNED
        || type == Character.PRIVATE_USE;
  }
}
