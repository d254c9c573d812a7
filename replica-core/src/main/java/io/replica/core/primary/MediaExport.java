package io.replica.core.primary;

import io.replica.api.ReplicationMode;
import io.replica.api.ReplicationState;
import io.replica.api.VmId;
import io.replica.api.event.ReplicationEvent;
import io.replica.core.context.Failures;
import io.replica.core.tracking.DiskTracker;
import java.io.IOException;
import java.util.function.Consumer;
import java.util.function.Predicate;
import java.util.function.Supplier;
/**
 * Initial replication to media: the disks at the cut go to an export location instead of the
 * network, in slices so the engine's other work goes on in between. Runs under the engine's lock.
 */
final class MediaExport {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(MediaExport.class);

  private final PrimaryHost engine;
  private final VmId vm;
  private final int blockSize;
  private final String location;
  private final CycleSender sender;
  /** Whether a cycle is still the one in flight. */
  private final Predicate<Cycle> inFlight;
  /** The relationship's state, for the event that says the export is done. */
  private final Supplier<ReplicationState> state;
  private final Consumer<String> fail;

  MediaExport(PrimaryHost engine, VmId vm, int blockSize, String location, CycleSender sender,
      Predicate<Cycle> inFlight, Supplier<ReplicationState> state, Consumer<String> fail) {
    this.engine = engine;
    this.vm = vm;
    this.blockSize = blockSize;
    this.location = location;
    this.sender = sender;
    this.inFlight = inFlight;
    this.state = state;
    this.fail = fail;
  }

  /** How much an export writes before it lets other work of the engine run. */
  private static final long EXPORT_SLICE_BYTES = 32L << 20;

  /**
   * Initial replication to media: the disks at the cut go to the export location instead of the
   * network; the cycle stays open until the replica imported it, while changes keep being tracked.
   * The export runs in slices, so the engine's other work goes on in between.
   */
  void start(Cycle c) {
    try {
      c.media = engine.storageProvider().open(location);
    } catch (IOException | RuntimeException e) {
      fail.accept("cannot export the initial replication of " + vm + " to " + location + ": "
          + Failures.describe(e));
      return;
    }
    engine.scheduler().execute(() -> engine.runLocked(() -> slice(c, location)));
  }

  private void slice(Cycle c, String location) {
    io.replica.spi.storage.StorageLocation media = c.media;
    if (!inFlight.test(c) || media == null) {
      close(c); // the cycle failed or was cancelled meanwhile
      return;
    }
    c.progressNanos = engine.clock().nanoTime();
    try {
      long written = 0;
      while (written < EXPORT_SLICE_BYTES) {
        if (c.disk >= c.disks.size()) {
          media.state().write(vm + "/export.properties", ("cycle=" + c.number + "\ncutTime=" + c.cutTime
              + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8));
          c.exported = true;
          c.sentAll = true;
          c.media = null;
          engine.emit(new ReplicationEvent.StateChanged(vm, engine.clock().instant(), ReplicationMode.PRIMARY,
              state.get(), state.get(), "initial replication exported to " + location + " at cycle " + c.number
                  + "; import it on the replica server"));
          return;
        }
        DiskTracker d = c.disks.get(c.disk);
        if (c.exportDisk == null) {
          String name = vm + "/disks/" + d.id;
          if (media.disks().exists(name)) {
            media.disks().delete(name); // an earlier export of this machine
          }
          c.exportDisk = media.disks().create(name,
              new io.replica.spi.storage.DiskSpec(d.disk.sizeBytes(), d.disk.logicalSectorSizeBytes(), 4096, false));
        }
        io.replica.spi.storage.VirtualDisk out = c.exportDisk;
        DiskTracker.Chunk chunk = d.readNext(Math.max(1, CycleSender.CHUNK_BYTES_MAX / blockSize));
        if (chunk == null) {
          out.flush();
          out.close();
          c.exportDisk = null;
          c.disk++;
          continue;
        }
        byte[] data = chunk.data();
        if (!CycleSender.isZero(data, 0, data.length)) {
          out.write(chunk.offsetBytes(), java.nio.ByteBuffer.wrap(data));
          c.checksum.block(d.id, chunk.offsetBytes(), data);
        }
        written += data.length;
        c.doneBytes += chunk.blocks() * blockSize;
        sender.reportProgress(c);
      }
    } catch (IOException | RuntimeException e) {
      close(c);
      fail.accept("cannot export the initial replication of " + vm + " to " + location + ": "
          + Failures.describe(e));
      return;
    }
    engine.scheduler().execute(() -> engine.runLocked(() -> slice(c, location)));
  }

  /** Closes what an export of {@code c} has open; the cycle failed, was cancelled or finished. */
  void close(Cycle c) {
    io.replica.spi.storage.VirtualDisk out = c.exportDisk;
    c.exportDisk = null;
    c.media = null;
    if (out != null) {
      try {
        out.close();
      } catch (IOException e) {
        LOG.warn("cannot close the export disk of {}", vm, e);
      }
    }
  }
}
