package io.replica.core.failover;

import io.replica.api.DiskId;
import io.replica.api.RecoveryPoint;
import io.replica.api.VirtualMachine;
import io.replica.api.VmDisk;
import io.replica.api.VmId;
import io.replica.core.context.Failures;
import io.replica.core.history.OverlayDisk;
import io.replica.core.history.UndoHistory;
import io.replica.spi.storage.DiskSpec;
import io.replica.spi.storage.StorageLocation;
import io.replica.spi.storage.VirtualDisk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
/**
 * Writable copies of recovery points, for a test failover and a failover: an overlay disk per
 * disk, whose top holds what the copy's machine writes, over a pinned point's view. A test
 * failover's copy keeps its map of written sectors in the state store at each flush, so it
 * survives a restart of the host. Runs under the engine's lock.
 */
public final class PointCopies {
  private static final Logger LOG = LoggerFactory.getLogger(PointCopies.class);

  /** The recovery points the copies stand on. */
  public interface Points {
    /** Pins {@code point} so that later cycles leave it intact. */
    UndoHistory.Point pin(RecoveryPoint point) throws IOException;

    /** Releases a pin taken by {@link #pin}. */
    void unpin(UndoHistory.Point kept);

    /** A read-only view of {@code disk} at the pinned point, over the replica disk {@code base}. */
    VirtualDisk view(RecoveryPoint point, UndoHistory.Point kept, DiskId disk, VirtualDisk base);
  }

  /** A writable copy of a recovery point: overlay disks over a pinned point. */
  public static final class Copy {
    public final VmId id;
    public final String name;
    public final UndoHistory.Point kept;
    public final Map<DiskId, OverlayDisk> disks;
    public final String directory;

    Copy(VmId id, String name, UndoHistory.Point kept, Map<DiskId, OverlayDisk> disks, String directory) {
      this.id = id;
      this.name = name;
      this.kept = kept;
      this.disks = disks;
      this.directory = directory;
    }

    public VirtualMachine machine() {
      List<VmDisk> list = new ArrayList<>();
      disks.forEach((id, d) -> list.add(new VmDisk(id, d, list.isEmpty())));
      return new VirtualMachine(id, name, list);
    }
  }

  /** The state document naming the point a test failover runs from. */
  private static final String POINT_DOC = "point.properties";
  private static final String WRITTEN_SUFFIX = ".written";

  private final VmId vm;
  private final StorageLocation storage;
  private final Map<DiskId, VirtualDisk> disks;
  private final Points points;

  public PointCopies(VmId vm, StorageLocation storage, Map<DiskId, VirtualDisk> disks, Points points) {
    this.vm = vm;
    this.storage = storage;
    this.disks = disks;
    this.points = points;
  }

  /** A new writable copy of {@code point}, its overlays under {@code <vm>/<kind>/}. */
  public Copy create(RecoveryPoint point, String kind, VmId id, String name) throws IOException {
    return copy(point, kind, id, name, false);
  }

  /** The test failover copy a restart found, reopened with what its last flush made durable. */
  public Copy reopen(RecoveryPoint point, String kind, VmId id, String name) throws IOException {
    return copy(point, kind, id, name, true);
  }

  /** The cycle of the point a durable copy of {@code kind} runs from, if one was left. */
  public Optional<Long> savedPoint(String kind) throws IOException {
    Optional<byte[]> doc = storage.state().read(vm + "/" + kind + "/" + POINT_DOC);
    if (doc.isEmpty()) {
      return Optional.empty();
    }
    java.util.Properties p = new java.util.Properties();
    p.load(new java.io.StringReader(new String(doc.get(), StandardCharsets.UTF_8)));
    return Optional.of(Long.parseLong(p.getProperty("cycle", "-1")));
  }

  /**
   * A writable copy of {@code point}. A test failover's copy keeps its map of written sectors in
   * the state store at each flush, so that {@code reopen} finds it, with its top disks, after a restart.
   */
  private Copy copy(RecoveryPoint point, String kind, VmId id, String name, boolean reopen) throws IOException {
    UndoHistory.Point kept = points.pin(point);
    String directory = vm + "/" + kind + "/";
    boolean durable = kind.equals("test");
    Map<DiskId, OverlayDisk> out = new LinkedHashMap<>();
    try {
      for (Map.Entry<DiskId, VirtualDisk> e : disks.entrySet()) {
        String topName = directory + e.getKey();
        VirtualDisk d = e.getValue();
        VirtualDisk top;
        long[] written = new long[0];
        if (reopen) {
          top = storage.disks().open(topName, false);
          written = readWrittenMap(directory + e.getKey() + WRITTEN_SUFFIX);
        } else {
          if (storage.disks().exists(topName)) {
            storage.disks().delete(topName); // left by a crash during an earlier copy
          }
          top = storage.disks().create(topName, new DiskSpec(d.sizeBytes(), d.logicalSectorSizeBytes(), 4096, false));
        }
        String mapName = directory + e.getKey() + WRITTEN_SUFFIX;
        OverlayDisk.WrittenMap saved = durable ? ranges -> storage.state().write(mapName, encodeRanges(ranges)) : null;
        out.put(e.getKey(), new OverlayDisk(points.view(point, kept, e.getKey(), d), top, written, saved));
      }
      if (durable && !reopen) {
        storage.state().write(directory + POINT_DOC, ("cycle=" + point.cycle() + "\ntime=" + point.time() + "\ntype="
            + point.type() + "\n").getBytes(StandardCharsets.UTF_8));
      }
    } catch (IOException | RuntimeException e) {
      drop(new Copy(id, name, kept, out, directory));
      throw e;
    }
    return new Copy(id, name, kept, out, directory);
  }

  private static byte[] encodeRanges(long[] ranges) {
    ByteBuffer b = ByteBuffer.allocate(ranges.length * Long.BYTES);
    for (long v : ranges) {
      b.putLong(v);
    }
    return b.array();
  }

  private long[] readWrittenMap(String name) throws IOException {
    Optional<byte[]> doc = storage.state().read(name);
    if (doc.isEmpty()) {
      return new long[0]; // nothing was flushed
    }
    byte[] bytes = doc.get();
    if (bytes.length % (2 * Long.BYTES) != 0) {
      throw new IOException("the written-sector map " + name + " has " + bytes.length
          + " bytes, not whole offset/length pairs");
    }
    long[] ranges = new long[bytes.length / Long.BYTES];
    ByteBuffer.wrap(bytes).asLongBuffer().get(ranges);
    return ranges;
  }

  /** Removes what a copy of {@code kind} left in storage (a crash, a point no longer kept). */
  public void removeLeftovers(String kind) {
    String directory = vm + "/" + kind + "/";
    try {
      for (DiskId id : disks.keySet()) {
        if (storage.disks().exists(directory + id)) {
          storage.disks().delete(directory + id);
        }
        storage.state().delete(directory + id + WRITTEN_SUFFIX);
      }
      storage.state().delete(directory + POINT_DOC);
    } catch (IOException e) {
      warn("cannot remove what the " + kind + " copy of " + vm + " left", e);
    }
  }

  /** Closes and deletes a copy's overlay disks and releases its point. */
  public void drop(Copy c) {
    for (Map.Entry<DiskId, OverlayDisk> e : c.disks.entrySet()) {
      try {
        e.getValue().close();
        e.getValue().top().close();
        storage.disks().delete(c.directory + e.getKey());
        storage.state().delete(c.directory + e.getKey() + WRITTEN_SUFFIX);
      } catch (IOException failure) {
        warn("cannot delete the overlay disk " + c.directory + e.getKey(), failure);
      }
    }
    try {
      storage.state().delete(c.directory + POINT_DOC);
    } catch (IOException failure) {
      warn("cannot delete " + c.directory + POINT_DOC, failure);
    }
    points.unpin(c.kept);
  }

  private static void warn(String message, Throwable e) {
    LOG.warn("{}: {}", message, Failures.describe(e));
  }
}
