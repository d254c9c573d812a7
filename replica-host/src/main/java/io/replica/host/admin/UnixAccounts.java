package io.replica.host.admin;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Reads users and groups from the system's name service through {@code getent}, so local files,
 * LDAP and SSSD answer alike, as they do for the kernel's own checks.
 */
final class UnixAccounts {
  private static final int OUTPUT_BYTES_MAX = 1 << 20;

  /** A group: its name, id and listed members. */
  record Group(String name, long gid, List<String> members) {}

  /** A user: name, id and primary group id. */
  record User(String name, long uid, long gid) {}

  Optional<User> user(String name) throws IOException {
    Optional<String> line = getent("passwd", name);
    if (line.isEmpty()) {
      return Optional.empty();
    }
    String[] f = line.get().split(":", -1);
    if (f.length < 4) {
      throw new IOException("getent passwd " + name + " printed an unexpected line");
    }
    return Optional.of(new User(f[0], parseId(f[2]), parseId(f[3])));
  }

  Optional<Group> group(String name) throws IOException {
    Optional<String> line = getent("group", name);
    if (line.isEmpty()) {
      return Optional.empty();
    }
    String[] f = line.get().split(":", -1);
    if (f.length < 4) {
      throw new IOException("getent group " + name + " printed an unexpected line");
    }
    List<String> members = f[3].isEmpty() ? List.of() : List.of(f[3].split(","));
    return Optional.of(new Group(f[0], parseId(f[2]), members));
  }

  private static long parseId(String s) throws IOException {
    try {
      return Long.parseLong(s);
    } catch (NumberFormatException e) {
      throw new IOException("getent printed an id that is not a number", e);
    }
  }

  private static Optional<String> getent(String database, String key) throws IOException {
    if (key.isEmpty() || key.length() > 256 || key.startsWith("-")
        || !key.chars().allMatch(c -> c > 0x20 && c < 0x7f && c != ':')) {
      return Optional.empty();
    }
    Process p = new ProcessBuilder("getent", database, key).redirectErrorStream(true).start();
    byte[] out;
    try (InputStream in = p.getInputStream()) {
      out = in.readNBytes(OUTPUT_BYTES_MAX);
    }
    try {
      if (!p.waitFor(10, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IOException("getent " + database + " did not answer within 10 s");
      }
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while reading the " + database + " database", e);
    }
    if (p.exitValue() == 2) {
      return Optional.empty(); // not found
    }
    if (p.exitValue() != 0) {
      throw new IOException("getent " + database + " failed with exit status " + p.exitValue());
    }
    String text = new String(out, StandardCharsets.UTF_8).strip();
    int nl = text.indexOf('\n');
    return Optional.of(nl < 0 ? text : text.substring(0, nl));
  }
}
