package io.replica.api;

import java.util.Objects;
import java.util.UUID;

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
    return new VmId(Uuids.parseCanonical(text, "virtual machine"));
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
