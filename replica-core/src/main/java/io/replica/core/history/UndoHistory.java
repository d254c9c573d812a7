package io.replica.core.history;

import io.replica.api.CorruptDataException;
import io.replica.api.DiskId;
import io.replica.api.RecoveryPointType;
import io.replica.api.VmId;
import io.replica.core.journal.JournalCodec;
import io.replica.core.journal.JournalRecord;
import io.replica.core.journal.RecordReader;
import io.replica.core.replica.ReplicaRecord;
import io.replica.spi.storage.AppendLog;
import io.replica.spi.storage.StateStore;
import io.replica.spi.storage.VirtualDisk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Recovery history as undo logs (DESIGN §5): while a cycle is applied, the first time a block is
 * overwritten after the newest point was taken, its old content is appended to that point's log.
 * A view of point k reads each block from the oldest log at or after k that holds it, else from the
 * replica disk. Pruning the oldest point deletes its logs; nothing is merged.
 *
 * <p>Changes are made under the engine lock with the relationship's point lock held for writing;
 * view reads hold the point lock for reading.
 */
public final class UndoHistory {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(UndoHistory.class);
  /** One point and its undo logs. */
  public static final class Point {
    public final long cycle;
    public final Instant cutTime;
    public final RecoveryPointType type;
    /** Per disk: block number to the position of its record in the log. */
    final Map<DiskId, Map<Long, Long>> index = new HashMap<>();
    final Map<DiskId, AppendLog> logs = new HashMap<>();
    public int pins;

    Point(long cycle, Instant cutTime, RecoveryPointType type) {
      this.cycle = cycle;
      this.cutTime = cutTime;
      this.type = type;
    }
  }

  private final StateStore state;
  private final VmId vm;
  private final int blockSize;
  private final Map<DiskId, VirtualDisk> disks;
  private final List<Point> points = new ArrayList<>();

  public UndoHistory(StateStore state, VmId vm, int blockSize, Map<DiskId, VirtualDisk> disks) {
    this.state = state;
    this.vm = vm;
    this.blockSize = blockSize;
    this.disks = disks;
  }

  public static String directory(VmId vm) {
    return vm + "/undo/";
  }

  private String logName(long cycle, DiskId disk) {
    return directory(vm) + cycle + "/" + disk + ".undo";
  }

  public List<Point> points() {
    return points;
  }

  public @Nullable Point find(long cycle) {
    for (Point p : points) {
      if (p.cycle == cycle) {
        return p;
      }
    }
    return null;
  }

  /**
   * Reloads the points a replica kept: their logs are read back and a torn tail cut off. Logs of
   * points no longer kept go; an entry under {@code undo/} that is not {@code <cycle>/<file>} was
   * not made by the engine and stays where it is, with a warning. On failure every log opened so
   * far is closed again, so that a later attempt can open them.
   */
  public void load(List<ReplicaRecord.PointRecord> kept) throws IOException {
    try {
      for (ReplicaRecord.PointRecord r : kept) {
        Point p = new Point(r.cycle(), Instant.parse(r.cutTime()), RecoveryPointType.valueOf(r.type()));
        points.add(p);
        for (DiskId disk : disks.keySet()) {
          String name = logName(p.cycle, disk);
          if (state.list(name).contains(name)) {
            AppendLog log = state.openLog(name);
            p.logs.put(disk, log);
            p.index.put(disk, readIndex(name, log));
          }
        }
      }
      // Logs of points that are no longer kept (pruned before a crash) go.
      for (String name : state.list(directory(vm))) {
        long cycle = cycleOf(name.substring(directory(vm).length()));
        if (cycle < 0) {
          LOG.warn("replica {}: {} is not an undo log of this engine; left alone", vm, name);
        } else if (find(cycle) == null) {
          state.delete(name);
        }
      }
    } catch (IOException | RuntimeException e) {
      close();
      points.clear();
      throw e;
    }
  }

  /** The cycle of an undo log named {@code <cycle>/<file>} under the directory, or -1. */
  private static long cycleOf(String rest) {
    int slash = rest.indexOf('/');
    if (slash <= 0 || slash != rest.lastIndexOf('/') || slash == rest.length() - 1) {
      return -1;
    }
    for (int i = 0; i < slash; i++) {
      if (rest.charAt(i) < '0' || rest.charAt(i) > '9') {
        return -1;
      }
    }
    try {
      return Long.parseLong(rest, 0, slash, 10);
    } catch (NumberFormatException tooLong) {
      return -1;
    }
  }

  private Map<Long, Long> readIndex(String name, AppendLog log) throws IOException {
    Map<Long, Long> index = new HashMap<>();
    long end = RecordReader.readAll(log, true, (position, r) -> {
      if (!(r instanceof JournalRecord.Block b)) {
        throw new CorruptDataException(name + " holds a record that is not a block at position " + position);
      }
      index.putIfAbsent(b.offsetBytes() / blockSize, position);
    });
    if (end < log.size()) {
      log.truncate(end);
    }
    return index;
  }

  /**
   * Before {@code [offset, offset+length)} of {@code disk} is overwritten: keeps the old content of
   * each block not yet kept since the newest point.
   */
  public void preserve(DiskId disk, long offset, long length) throws IOException {
    if (points.isEmpty()) {
      return;
    }
    Point newest = points.get(points.size() - 1);
    Map<Long, Long> index = newest.index.computeIfAbsent(disk, d -> new HashMap<>());
    VirtualDisk d = disks.get(disk);
    long first = offset / blockSize;
    long last = (offset + length - 1) / blockSize;
    for (long b = first; b <= last; b++) {
      if (index.containsKey(b)) {
        continue;
      }
      AppendLog log = newest.logs.get(disk);
      if (log == null) {
        log = state.openLog(logName(newest.cycle, disk));
        newest.logs.put(disk, log);
      }
      long blockOffset = b * blockSize;
      byte[] old = new byte[(int) Math.min(blockSize, d.sizeBytes() - blockOffset)];
      d.read(blockOffset, ByteBuffer.wrap(old));
      long position = log.size();
      log.append(JournalCodec.encode(new JournalRecord.Block(disk, blockOffset, old)));
      index.put(b, position);
    }
  }

  /** Makes the newest point's logs durable; called before the disk writes they protect. */
  public void sync() throws IOException {
    if (!points.isEmpty()) {
      for (AppendLog log : points.get(points.size() - 1).logs.values()) {
        log.sync();
      }
    }
  }

  /** The replica now holds {@code cycle}: it becomes the newest point. */
  public void take(long cycle, Instant cutTime, RecoveryPointType type) {
    Point newest = points.isEmpty() ? null : points.get(points.size() - 1);
    if (newest != null && newest.cycle == cycle) {
      return;
    }
    points.add(new Point(cycle, cutTime, type));
  }

  /** Deletes the oldest unpinned points while more than {@code keep} remain; never one a view holds. */
  public void prune(int keep) throws IOException {
    while (points.size() > keep && points.get(0).pins == 0) {
      Point oldest = points.remove(0);
      for (Map.Entry<DiskId, AppendLog> e : oldest.logs.entrySet()) {
        e.getValue().close();
        state.delete(logName(oldest.cycle, e.getKey()));
      }
    }
  }

  /** Deletes every point and log (after a failover commits). */
  public void clear() throws IOException {
    for (Point p : points) {
      p.pins = 0;
    }
    prune(0);
  }

  /** Reads {@code dst.remaining()} bytes of {@code disk} at {@code offset} as they were at {@code point}. */
  public void read(Point point, DiskId disk, long offset, ByteBuffer dst) throws IOException {
    VirtualDisk d = disks.get(disk);
    int from = points.indexOf(point);
    if (from < 0) {
      throw new IllegalStateException("recovery point of cycle " + point.cycle + " of " + vm + " is gone");
    }
    long end = offset + dst.remaining();
    for (long at = offset; at < end; ) {
      long b = at / blockSize;
      long blockEnd = Math.min(end, Math.min((b + 1) * blockSize, d.sizeBytes()));
      int n = (int) (blockEnd - at);
      byte[] kept = null;
      for (int i = from; i < points.size() && kept == null; i++) {
        Point p = points.get(i);
        Long position = p.index.getOrDefault(disk, Map.of()).get(b);
        if (position != null) {
          kept = readBlock(p.logs.get(disk), position);
        }
      }
      ByteBuffer part = dst.slice();
      part.limit(n);
      if (kept != null) {
        part.put(kept, (int) (at - b * blockSize), n);
      } else {
        d.read(at, part);
      }
      dst.position(dst.position() + n);
      at = blockEnd;
    }
  }

  private static byte[] readBlock(AppendLog log, long position) throws IOException {
    RecordReader.Framed f = RecordReader.readAt(log, position, Long.MAX_VALUE);
    if (f == null || !(f.record() instanceof JournalRecord.Block b)) {
      throw new CorruptDataException("an undo log record at position " + position + " is not a whole block");
    }
    return b.data();
  }

  /** The blocks of {@code disk} that changed after {@code point}: every block a log from it on holds. */
  public java.util.SortedSet<Long> blocksChangedSince(Point point, DiskId disk) {
    java.util.SortedSet<Long> out = new java.util.TreeSet<>();
    for (int i = points.indexOf(point); i >= 0 && i < points.size(); i++) {
      out.addAll(points.get(i).index.getOrDefault(disk, Map.of()).keySet());
    }
    return out;
  }

  /** The points to persist in {@code replica.json}. */
  public List<ReplicaRecord.PointRecord> records() {
    List<ReplicaRecord.PointRecord> out = new ArrayList<>();
    for (Point p : points) {
      out.add(new ReplicaRecord.PointRecord(p.cycle, p.cutTime.toString(), p.type.name()));
    }
    return out;
  }

  public void close() {
    for (Point p : points) {
      for (AppendLog log : p.logs.values()) {
        try {
          log.close();
        } catch (IOException e) {
          // Closing a log we only read or appended loses nothing that a sync did not keep.
        }
      }
    }
  }
}
