package io.replica.api;

import java.util.Objects;
import java.util.UUID;
import org.jspecify.annotations.Nullable;

/**
 * Identifies a virtual machine for as long as it exists, on every host. On-disk names derive from it, never
 * from names that people type.
 *
 * @param uuid the identifier
 */
public record VmId(UUID uuid) implements Comparable<VmId> {

  public VmId {
    Objects.requireNonNull(uuid, "uuid");
  }

  /** The id of a UUID. */
  public static VmId of(UUID uuid) {
    return new VmId(uuid);
  }

  /**
   * Parses the canonical UUID form.
   *
   * @throws IllegalArgumentException if {@code text} is not a UUID
   */
  public static VmId parse(String text) {
    UUID uuid;
    try {
      uuid = UUID.fromString(text);
    } catch (IllegalArgumentException e) {
      throw notAnId(text, e);
    }
    // UUID.fromString also takes short forms such as "1-1-1-1-1"; only the canonical one is an id.
    if (!uuid.toString().equalsIgnoreCase(text)) {
      throw notAnId(text, null);
    }
    return new VmId(uuid);
  }

  private static IllegalArgumentException notAnId(String text, @Nullable Throwable cause) {
    return new IllegalArgumentException(
        "'" + text + "' is not a virtual machine id; expected a UUID such as 3f0c8a34-1b2c-4d5e-8f90-a1b2c3d4e5f6", cause);
  }

  @Override
  public int compareTo(VmId other) {
    return uuid.compareTo(other.uuid);
  }

  @Override
  public String toString() {
    return uuid.toString();
  }
}
