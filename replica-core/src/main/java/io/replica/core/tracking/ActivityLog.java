package io.replica.core.tracking;

import io.replica.api.CorruptDataException;
import io.replica.api.DiskId;
import io.replica.spi.storage.StateStore;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The extents of a machine's disks that may hold changes the replica lacks, made durable before
 * the first write to each (DRBD's activity log). After a crash of the primary only these extents
 * are sent again, not the whole disks. An extent cools once the replica acknowledged everything
 * written to it.
 */
public final class ActivityLog {
  /** Tracking blocks per extent: 4 MiB at the default 4 KiB. */
  static final int EXTENT_BLOCKS = 1024;

  private final StateStore state;
  private final String name;
  private final Map<DiskId, long[]> hot = new LinkedHashMap<>();

  public ActivityLog(StateStore state, String name) {
    this.state = state;
    this.name = name;
  }

  /** Replaces the hot extents of {@code disk} and makes the log durable. */
  synchronized void update(DiskId disk, long[] extents) throws IOException {
    hot.put(disk, extents);
    StringBuilder b = new StringBuilder();
    hot.forEach((id, e) -> {
      b.append(id).append(':');
      for (int i = 0; i < e.length; i++) {
        b.append(i == 0 ? "" : ",").append(e[i]);
      }
      b.append('\n');
    });
    state.write(name, b.toString().getBytes(StandardCharsets.UTF_8));
  }

  /**
   * Takes {@code extents} of {@code disk} as hot without writing: they are what the durable log
   * already says, read back at a restart. The next {@link #update} of any disk writes them again,
   * so they must be known here, not only to the disk's tracker.
   */
  synchronized void restored(DiskId disk, long[] extents) {
    hot.put(disk, extents);
  }

  /** The hot extents a previous run left, by disk. */
  public static Map<DiskId, long[]> load(StateStore state, String name) throws IOException {
    Map<DiskId, long[]> out = new LinkedHashMap<>();
    Optional<byte[]> doc = state.read(name);
    if (doc.isEmpty()) {
      return out;
    }
    for (String line : new String(doc.get(), StandardCharsets.UTF_8).split("\n")) {
      if (line.isEmpty()) {
        continue;
      }
      int colon = line.indexOf(':');
      try {
        DiskId disk = DiskId.parse(line.substring(0, Math.max(0, colon)));
        List<Long> extents = new ArrayList<>();
        for (String e : line.substring(colon + 1).split(",")) {
          if (!e.isEmpty()) {
            extents.add(Long.parseLong(e));
          }
        }
        out.put(disk, extents.stream().mapToLong(Long::longValue).toArray());
      } catch (RuntimeException e) {
        throw new CorruptDataException(name + " holds an unreadable line '" + line + "'", e);
      }
    }
    return out;
  }
}
