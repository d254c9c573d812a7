package io.replica.api;

import java.util.UUID;
import org.jspecify.annotations.Nullable;

/** Parsing shared by the id types. */
final class Uuids {
  private Uuids() {}

  /**
   * Parses the canonical form only: {@link UUID#fromString} also takes short forms such as
   * {@code 1-1-1-1-1}, which would give two names to one id.
   *
   * @throws IllegalArgumentException naming {@code what} was expected
   */
  static UUID parseCanonical(String text, String what) {
    UUID uuid;
    try {
      uuid = UUID.fromString(text);
    } catch (IllegalArgumentException e) {
      throw notAnId(text, what, e);
    }
    if (!uuid.toString().equalsIgnoreCase(text)) {
      throw notAnId(text, what, null);
    }
    return uuid;
  }

  private static IllegalArgumentException notAnId(String text, String what, @Nullable Throwable cause) {
    return new IllegalArgumentException(
        "'" + text + "' is not a " + what + " id; expected a UUID such as 3f0c8a34-1b2c-4d5e-8f90-a1b2c3d4e5f6", cause);
  }
}
