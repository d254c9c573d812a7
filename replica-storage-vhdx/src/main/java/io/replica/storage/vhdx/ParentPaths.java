package io.replica.storage.vhdx;

import java.io.File;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The path entries of a parent locator (MS-VHDX 2.6.2.6.3): what to write for a parent, and
 * where an entry points.
 *
 * <p>{@code relative_path} is relative to the child's folder with {@code \} separators. {@code
 * absolute_win32_path} is {@code \\?\} and the absolute path with {@code \} separators: a drive
 * path ({@code \\?\C:\vms\p.vhdx}), a share ({@code \\?\UNC\server\share\p.vhdx}), or on POSIX the
 * path from the root ({@code \\?\\srv\vms\p.vhdx}). The spec defines no key for POSIX paths; this
 * one keeps them readable by libvhdi, which shows only the absolute entry, while Windows finds no
 * such file there and moves on to the relative path. {@code volume_path} is neither written nor
 * read: a volume GUID means nothing here.
 */
final class ParentPaths {

  static final String RELATIVE = "relative_path";
  static final String ABSOLUTE = "absolute_win32_path";
  /** The keys tried, in the spec's order. */
  static final List<String> KEYS = List.of(RELATIVE, ABSOLUTE);

  private static final String LONG_PREFIX = "\\\\?\\";
  private static final String UNC_PREFIX = "\\\\?\\UNC\\";

  private ParentPaths() {}

  /** The path entries a child at {@code child} should hold for a parent at {@code parent}. */
  static Map<String, String> of(Path child, Path parent) {
    Path parentAbs = parent.toAbsolutePath().normalize();
    Path childDir = child.toAbsolutePath().normalize().getParent();
    Map<String, String> kv = new LinkedHashMap<>();
    try {
      kv.put(RELATIVE, childDir.relativize(parentAbs).toString().replace(File.separatorChar, '\\'));
    } catch (IllegalArgumentException e) {
      // Another drive: only the absolute path leads there.
    }
    String abs = parentAbs.toString().replace(File.separatorChar, '\\');
    kv.put(ABSOLUTE, abs.startsWith("\\\\") ? UNC_PREFIX + abs.substring(2) : LONG_PREFIX + abs);
    return kv;
  }

  /**
   * Where the entry {@code key} with {@code value} points for a child at {@code child}; null if
   * the value is missing or is no path on this platform.
   */
  static Path resolve(Path child, String key, String value) {
    if (value == null || value.isEmpty()) {
      return null;
    }
    try {
      if (key.equals(RELATIVE)) {
        Path dir = child.toAbsolutePath().getParent();
        return dir.resolve(value.replace('\\', File.separatorChar)).normalize();
      }
      if (key.equals(ABSOLUTE)) {
        boolean share = value.startsWith(UNC_PREFIX)
            || (value.startsWith("\\\\") && !value.startsWith(LONG_PREFIX));
        if (share && File.separatorChar != '\\') {
          return null;
        }
        // Hyper-V has been seen to leave the prefix out.
        String p = value.startsWith(UNC_PREFIX) ? "\\\\" + value.substring(UNC_PREFIX.length())
            : value.startsWith(LONG_PREFIX) ? value.substring(LONG_PREFIX.length()) : value;
        Path candidate = Path.of(p.replace('\\', File.separatorChar));
        return candidate.isAbsolute() ? candidate.normalize() : null;
      }
    } catch (RuntimeException e) {
      // InvalidPathException: characters this platform does not allow in a path
    }
    return null;
  }
}
