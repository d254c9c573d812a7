package io.replica.testkit.memory;

import java.util.List;

/** Records where a handle was opened and reports handles that were never closed. */
final class StorageLeaks {
  private StorageLeaks() {}

  /** The stack of the code that opened a handle; never thrown, only attached to a leak report. */
  static final class OpenedAt extends Throwable {
    private static final long serialVersionUID = 1L;

    OpenedAt(String message) {
      super(message);
    }
  }

  /**
   * Throws if {@code openings} is not empty: one line per open handle, the first opening stack as
   * cause and the others as suppressed exceptions.
   */
  static void check(String owner, List<OpenedAt> openings) {
    if (openings.isEmpty()) {
      return;
    }
    StringBuilder message = new StringBuilder()
        .append(owner).append(" has ").append(openings.size())
        .append(" open handle(s) that should have been closed:");
    for (OpenedAt opening : openings) {
      message.append("\n  ").append(opening.getMessage());
    }
    message.append("\nClose each handle (try-with-resources); the stack traces attached show where"
        + " each was opened.");
    IllegalStateException leak = new IllegalStateException(message.toString(), openings.get(0));
    for (int i = 1; i < openings.size(); i++) {
      leak.addSuppressed(openings.get(i));
    }
    throw leak;
  }
}
