package io.replica.core.replica;

import io.replica.api.DiskId;
import io.replica.api.RecoveryPointType;
import io.replica.api.VmId;
import io.replica.core.history.UndoHistory;
import io.replica.core.journal.CycleJournal;
import io.replica.core.journal.JournalRecord;
import io.replica.spi.storage.StateStore;
import io.replica.spi.storage.VirtualDisk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.jspecify.annotations.Nullable;
/**
 * Applies committed cycle journals to the replica's disks, keeping what each overwrites in the
 * recovery history first. Runs under the engine's lock; takes the point lock for writing.
 */
final class CycleApplier {
  private static final int ZERO_CHUNK = 1 << 20;

  /** What the owner records once a cycle's data is on the disks. */
  interface Applied {
    void applied(long cycle, Instant cutTime, @Nullable RecoveryPointType point, long payloadBytes,
        long coveredBytes) throws IOException;
  }

  private final VmId vm;
  private final StateStore state;
  private final UndoHistory history;
  private final Map<DiskId, VirtualDisk> disks;
  private final ReentrantReadWriteLock pointLock;
  /** A cycle whose apply began and did not finish: the disks hold part of it. */
  private volatile long partlyApplied = -1;

  CycleApplier(VmId vm, StateStore state, UndoHistory history, Map<DiskId, VirtualDisk> disks,
      ReentrantReadWriteLock pointLock) {
    this.vm = vm;
    this.state = state;
    this.history = history;
    this.disks = disks;
    this.pointLock = pointLock;
  }

  /** The cycle the disks hold part of, after an apply failed part-way; -1 if none. */
  long partlyApplied() {
    return partlyApplied;
  }

  /**
   * Applies the committed journal of {@code cycle} to the disks under the point lock: first keeps
   * what it overwrites in the history (durably), then writes, flushes, and hands the cycle to
   * {@code applied} while the lock is still held; deletes the journal after.
   */
  void apply(long cycle, Applied applied) throws IOException {
    String name = CycleJournal.name(vm, cycle);
    JournalRecord.Begin[] begin = new JournalRecord.Begin[1];
    long[] counts = new long[2];
    pointLock.writeLock().lock();
    try {
      if (!history.points().isEmpty()) {
        // First keep what the cycle overwrites for the history, durably, then overwrite it.
        CycleJournal.read(state, name, rec -> {
          if (rec instanceof JournalRecord.Block) {
            JournalRecord.Block b = (JournalRecord.Block) rec;
            history.preserve(b.disk(), b.offsetBytes(), b.data().length);
          } else if (rec instanceof JournalRecord.Zero) {
            JournalRecord.Zero z = (JournalRecord.Zero) rec;
            history.preserve(z.disk(), z.offsetBytes(), z.lengthBytes());
          }
        });
        history.sync();
      }
      partlyApplied = cycle;
      boolean committed = CycleJournal.read(state, name, rec -> {
        if (rec instanceof JournalRecord.Begin b) {
          begin[0] = b;
        } else if (rec instanceof JournalRecord.Block b) {
          requireDisk(b.disk()).write(b.offsetBytes(), ByteBuffer.wrap(b.data()));
          counts[0] += b.data().length;
          counts[1] += b.data().length;
        } else if (rec instanceof JournalRecord.Zero z) {
          writeZeros(requireDisk(z.disk()), z.offsetBytes(), z.lengthBytes());
          counts[0] += z.lengthBytes();
        }
      });
      if (!committed || begin[0] == null) {
        throw new IllegalStateException("journal " + name + " is not committed");
      }
      for (VirtualDisk d : disks.values()) {
        d.flush();
      }
      applied.applied(cycle, begin[0].cutTime(), begin[0].point(), counts[1], counts[0]);
      partlyApplied = -1;
    } finally {
      pointLock.writeLock().unlock();
    }
    state.delete(name);
  }

  private VirtualDisk requireDisk(DiskId disk) {
    VirtualDisk d = disks.get(disk);
    if (d == null) {
      throw new io.replica.api.CorruptDataException(
          "journal of " + vm + " names disk " + disk + ", which the replica does not have");
    }
    return d;
  }

  /** Zeros a range: a trim where the disk has one, else written zeros in chunks. */
  static void writeZeros(VirtualDisk disk, long offset, long length) throws IOException {
    try {
      disk.trim(offset, length);
      return;
    } catch (UnsupportedOperationException e) {
      // Fall through: write the zeros.
    }
    ByteBuffer zeros = ByteBuffer.allocate((int) Math.min(ZERO_CHUNK, length));
    for (long done = 0; done < length; ) {
      int n = (int) Math.min(zeros.capacity(), length - done);
      disk.write(offset + done, zeros.clear().limit(n));
      done += n;
    }
  }
}
