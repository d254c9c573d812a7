package io.replica.core.context;

import java.util.Locale;

/** Host names compared as DNS compares them: without case and without a final dot. */
public final class HostNames {
  private HostNames() {}

  /**
   * Whether {@code a} and {@code b} name the same host. Hyper-V refuses replication to the primary's
   * own host, and so do we: the replica would share the primary's storage and take its name.
   */
  public static boolean same(String a, String b) {
    return normal(a).equals(normal(b));
  }

  private static String normal(String name) {
    String n = name.strip().toLowerCase(Locale.ROOT);
    return n.endsWith(".") ? n.substring(0, n.length() - 1) : n;
  }
}
