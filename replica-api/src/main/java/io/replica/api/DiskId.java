package io.replica.api;

import java.util.Objects;
import java.util.UUID;

/**
 * Identifies a virtual disk for as long as it exists, on every host. On-disk names derive from it, never
 * from names that people type.
 *
 * @param uuid the identifier
 */
public record DiskId(UUID uuid) implements Comparable<DiskId> {

  public DiskId {
    Objects.requireNonNull(uuid, "uuid");
  }

  /** The id of a UUID. */
  public static DiskId of(UUID uuid) {
    return new DiskId(uuid);
  }

  /**
   * Parses the canonical UUID form.
   *
   * @throws IllegalArgumentException if {@code text} is not a UUID
   */
  public static DiskId parse(String text) {
    return new DiskId(Uuids.parseCanonical(text, "virtual disk"));
  }

  @Override
  public int compareTo(DiskId other) {
    return uuid.compareTo(other.uuid);
  }

  @Override
  public String toString() {
    return uuid.toString();
  }
}
