package io.replica.spi.storage;

import java.util.regex.Pattern;

/** The rules for names in a {@link DiskStore} or {@link StateStore}. */
public final class StorageNames {

  private static final Pattern SEGMENT = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
  private static final int MAX_LENGTH = 512;

  private StorageNames() {}

  /**
   * Returns {@code name} if it is a relative path of 1 to 512 characters whose {@code /}-separated
   * segments each start with a letter or digit and hold only letters, digits, {@code .}, {@code _}
   * and {@code -} (so no {@code ..}, no absolute path, no separator of another platform).
   *
   * @throws IllegalArgumentException naming the offending name and the rule
   */
  public static String check(String name) {
    if (name.isEmpty() || name.length() > MAX_LENGTH) {
      throw new IllegalArgumentException(
          "storage name of length " + name.length() + " is invalid; use 1 to " + MAX_LENGTH
              + " characters");
    }
    for (String segment : name.split("/", -1)) {
      if (!SEGMENT.matcher(segment).matches() || segment.contains("..")) {
        throw new IllegalArgumentException(
            "storage name '" + name + "' is invalid: each '/'-separated part must start with a"
                + " letter or digit and hold only letters, digits, '.', '_' and '-' (no '..')");
      }
    }
    return name;
  }
}
