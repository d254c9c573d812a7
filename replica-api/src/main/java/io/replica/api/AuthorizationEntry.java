package io.replica.api;

import java.util.Locale;
import java.util.Objects;

/**
 * One entry of a replica server's authorization list: primaries whose authenticated name matches
 * the pattern may replicate into the storage location; virtual machines may move between primaries
 * of the same trust group without breaking replication.
 *
 * @param primaryServerPattern a host name, or a pattern with one {@code *} such as {@code *.contoso.com}
 * @param storageLocation where replica machines from these primaries are stored
 * @param trustGroup the group these primaries belong to
 */
public record AuthorizationEntry(String primaryServerPattern, String storageLocation, String trustGroup) {

  /** @throws IllegalArgumentException if a field is blank or the pattern holds more than one {@code *} */
  public AuthorizationEntry {
    Objects.requireNonNull(primaryServerPattern, "primaryServerPattern");
    Objects.requireNonNull(storageLocation, "storageLocation");
    Objects.requireNonNull(trustGroup, "trustGroup");
    if (primaryServerPattern.isBlank()) {
      throw new IllegalArgumentException("authorization entry has a blank primary server pattern");
    }
    if (primaryServerPattern.indexOf('*') != primaryServerPattern.lastIndexOf('*')) {
      throw new IllegalArgumentException(
          "primary server pattern '" + primaryServerPattern + "' holds more than one '*'; only one"
              + " wildcard is allowed, as in '*.contoso.com'");
    }
    if (storageLocation.isBlank() || trustGroup.isBlank()) {
      throw new IllegalArgumentException(
          "authorization entry for '" + primaryServerPattern + "' needs a storage location and a trust group");
    }
    primaryServerPattern = primaryServerPattern.toLowerCase(Locale.ROOT);
  }

  /** Whether an authenticated host name matches the pattern (case-insensitive). */
  public boolean matches(String hostName) {
    String host = hostName.toLowerCase(Locale.ROOT);
    int star = primaryServerPattern.indexOf('*');
    if (star < 0) {
      return host.equals(primaryServerPattern);
    }
    String prefix = primaryServerPattern.substring(0, star);
    String suffix = primaryServerPattern.substring(star + 1);
    return host.length() >= prefix.length() + suffix.length()
        && host.startsWith(prefix) && host.endsWith(suffix);
  }
}
