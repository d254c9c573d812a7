package io.replica.testkit.memory;

import java.util.Locale;
import java.util.Objects;

/**
 * A direction between two hosts, {@code from} to {@code to}, by lower-case host name: the key of
 * the network's counters and link faults. {@link #unordered()} gives the key of a pair of hosts
 * regardless of direction, for partitions.
 */
record HostLink(String from, String to) {

  HostLink {
    Objects.requireNonNull(from, "from");
    Objects.requireNonNull(to, "to");
  }

  /** The same pair in a canonical order, so that (a, b) and (b, a) are equal. */
  HostLink unordered() {
    return from.compareTo(to) <= 0 ? this : new HostLink(to, from);
  }

  /** Whether this pair joins {@code a} and {@code b}, in either direction. */
  boolean joins(String a, String b) {
    return (from.equals(a) && to.equals(b)) || (from.equals(b) && to.equals(a));
  }

  /**
   * A host name as the network keys it: lower case, like {@link io.replica.spi.transport.Endpoint}.
   *
   * @throws NullPointerException if {@code host} is null
   * @throws IllegalArgumentException if {@code host} is blank
   */
  static String hostName(String host, String what) {
    Objects.requireNonNull(host, what);
    if (host.isBlank()) {
      throw new IllegalArgumentException(what + " is blank; give a host name such as \"primary\"");
    }
    return host.toLowerCase(Locale.ROOT);
  }

  @Override
  public String toString() {
    return "'" + from + "' -> '" + to + "'";
  }
}
