package io.replica.core.tracking;

import io.replica.api.DiskId;
import io.replica.spi.storage.ByteRange;
import io.replica.spi.storage.VirtualDisk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * Change tracking for one disk: the open generation's dirty blocks and, while a cycle is in flight,
 * the frozen generation with the blocks preserved by copy-before-write.
 *
 * <p>All bitmap state is guarded by this object's monitor. Guest writes call
 * {@link #beforeWrite(long, int)} while holding the machine's cut read lock; cuts hold its write
 * lock, so a write is wholly before or wholly after a cut.
 */
public final class DiskTracker {
  public final DiskId id;
  public final VirtualDisk disk;
  public final int blockSize;
  private final int shift;
  public final long blockCount;

  private BlockSet open;
  /** The generation being sent; kept whole until acknowledged so a failed cycle can be retried. */
  private @Nullable BlockSet frozen;
  /** Frozen blocks already read by the sender or preserved by a guest write. */
  private BlockSet done;
  private final PreservedBlocks preserved;
  /** Why copy-before-write could not keep the cycle consistent; the cycle then fails and is retried. */
  private @Nullable IOException broken;
  /** The sender's position in the frozen generation, which does not change while it is read. */
  private BlockSet.@Nullable Cursor cursor;
  private long lookahead = -1;
  private boolean released;
  /** A broken behaviour for the simulation's own tests: frozen blocks are overwritten unpreserved. */
  private volatile boolean copyBeforeWriteSkipped;
  /** Extents known hot in the activity log; null without one. */
  private final @Nullable ActivityLog activity;
  private final BlockSet hotExtents;
  /**
   * Sets of blocks written since an online verify pass began watching ({@link #watchWrites()});
   * each guest write adds its blocks to every one, before it reaches the disk.
   */
  private final List<BlockSet> watchers = new java.util.ArrayList<>();

  DiskTracker(DiskId id, VirtualDisk disk, int blockSize, PreservedBlocks preserved,
      @Nullable ActivityLog activity) {
    this.activity = activity;
    this.preserved = preserved;
    this.id = id;
    this.disk = disk;
    this.blockSize = blockSize;
    this.shift = Integer.numberOfTrailingZeros(blockSize);
    this.blockCount = (disk.sizeBytes() + blockSize - 1) >>> shift;
    this.open = new BlockSet(blockCount);
    this.done = new BlockSet(blockCount);
    this.hotExtents = new BlockSet(blockCount / ActivityLog.EXTENT_BLOCKS + 1);
  }

  /** The length of block {@code b}: the last one may be short. */
  public int blockLength(long b) {
    return (int) Math.min(blockSize, disk.sizeBytes() - (b << shift));
  }

  /** Marks the blocks of a guest write dirty and preserves frozen blocks it is about to overwrite. */
  void beforeWrite(long offsetBytes, long lengthBytes) throws IOException {
    long first = offsetBytes >>> shift;
    long last = (offsetBytes + lengthBytes - 1) >>> shift;
    synchronized (this) {
      if (released) {
        return;
      }
      if (activity != null) {
        heat(first / ActivityLog.EXTENT_BLOCKS, last / ActivityLog.EXTENT_BLOCKS);
      }
      if (first == last) {
        open.add(first);
      } else {
        open.addRange(first, last + 1);
      }
      for (BlockSet w : watchers) {
        w.addRange(first, last + 1);
      }
      BlockSet f = frozen;
      if (f != null && !copyBeforeWriteSkipped) {
        for (long b = first; b <= last; b++) {
          if (f.contains(b) && !done.contains(b)) {
            done.add(b);
            if (broken == null) {
              preserve(b);
            }
          }
        }
      }
    }
  }

  /** Makes the extents of a write hot, durably, before the write happens. */
  private void heat(long firstExtent, long lastExtent) throws IOException {
    boolean changed = false;
    for (long e = firstExtent; e <= lastExtent; e++) {
      if (!hotExtents.contains(e)) {
        hotExtents.add(e);
        changed = true;
      }
    }
    if (changed) {
      java.util.Objects.requireNonNull(activity).update(id, extents(hotExtents));
    }
  }

  /**
   * After an acknowledgement: only extents that still hold unacknowledged changes stay hot. The disk
   * is flushed first: what the replica acknowledged may still sit in a write cache that a crash of
   * this host loses, and an extent that cooled would then never be sent again.
   */
  void cool() throws IOException {
    if (activity == null) {
      return;
    }
    disk.flush();
    coolFlushed();
  }

  private synchronized void coolFlushed() throws IOException {
    if (released) {
      return;
    }
    BlockSet still = new BlockSet(blockCount / ActivityLog.EXTENT_BLOCKS + 1);
    for (BlockSet s : frozen == null ? List.of(open) : List.of(open, frozen)) {
      BlockSet.Cursor c = s.cursor();
      while (c.hasNext()) {
        still.add(c.next() / ActivityLog.EXTENT_BLOCKS);
      }
    }
    hotExtents.clearAndAddAll(still);
    activity.update(id, extents(hotExtents));
  }

  /** Marks every block of the given extents dirty: what a crashed run may have left unsent. */
  synchronized void markExtentsDirty(long[] extents) {
    for (long e : extents) {
      long from = e * ActivityLog.EXTENT_BLOCKS;
      long to = Math.min(blockCount, from + ActivityLog.EXTENT_BLOCKS);
      if (from < to) {
        open.addRange(from, to);
        hotExtents.add(e);
      }
    }
    if (activity != null) {
      activity.restored(id, extents(hotExtents));
    }
  }

  /** Marks dirty the blocks a failed-over run changed before this tracker existed. */
  public synchronized void markDirty(BlockSet blocks) {
    open.addAll(blocks);
  }

  /** Marks dirty the blocks of byte range {@code [offsetBytes, offsetBytes + lengthBytes)}, clipped to the disk. */
  public synchronized void markDirty(long offsetBytes, long lengthBytes) {
    long first = offsetBytes >>> shift;
    long end = Math.min(blockCount, (Math.min(disk.sizeBytes(), offsetBytes + lengthBytes) + blockSize - 1) >>> shift);
    if (first < end) {
      open.addRange(first, end);
    }
  }

  /** Blocks changed and not yet acknowledged (open and frozen generations together), as a copy. */
  public synchronized BlockSet pendingSet() {
    BlockSet all = new BlockSet(blockCount);
    all.addAll(open);
    if (frozen != null) {
      all.addAll(frozen);
    }
    return all;
  }

  /** Byte ranges changed and not yet acknowledged (open and frozen generations together). */
  public synchronized long[] pendingRanges() {
    return pendingSet().byteRanges(shift, disk.sizeBytes());
  }

  /**
   * Starts watching guest writes for an online verify: the returned set holds the blocks changed
   * and not yet acknowledged now, and from now on every block a guest write marks, until
   * {@link #unwatch(BlockSet)}. A block outside it reads now as it read at the cut of the last
   * acknowledged cycle when watching began, and at every later cut.
   */
  public synchronized BlockSet watchWrites() {
    BlockSet written = pendingSet();
    watchers.add(written);
    return written;
  }

  /** Stops adding guest writes to a set {@link #watchWrites()} returned. */
  public synchronized void unwatch(BlockSet written) {
    watchers.removeIf(w -> w == written);
  }

  /**
   * Reads blocks {@code [first, end)} in one read, and says which of them a guest wrote since
   * {@code written} began watching. Both happen under this object's monitor, which a guest write
   * takes to mark its blocks before it writes them: a block not marked here is not being written
   * either, so its bytes are the ones it had at the watched cut.
   */
  public synchronized Unwritten readUnwritten(long first, long end, BlockSet written) throws IOException {
    boolean[] wasWritten = new boolean[(int) (end - first)];
    for (long b = first; b < end; b++) {
      wasWritten[(int) (b - first)] = written.contains(b);
    }
    long offset = first << shift;
    byte[] data = new byte[(int) (Math.min(end << shift, disk.sizeBytes()) - offset)];
    disk.read(offset, ByteBuffer.wrap(data));
    return new Unwritten(first, data, wasWritten);
  }

  /** Blocks read for a verify from {@code firstBlock}, and which of them a guest wrote meanwhile. */
  public record Unwritten(long firstBlock, byte[] data, boolean[] written) {}

  /** A second cursor over the generation in flight, for looking ahead of the sender. */
  public synchronized BlockSet.Cursor frozenCursor() {
    BlockSet f = frozen;
    if (f == null) {
      throw new IllegalStateException("disk " + id + " has no cycle in flight");
    }
    return f.cursor();
  }

  private static long[] extents(BlockSet set) {
    List<Long> out = new java.util.ArrayList<>();
    BlockSet.Cursor c = set.cursor();
    while (c.hasNext()) {
      out.add(c.next());
    }
    return out.stream().mapToLong(Long::longValue).toArray();
  }

  /**
   * Keeps the old content of block {@code b}. A failure must not fail the guest's write: it breaks
   * the cycle instead, which then fails and is sent again from a later cut.
   */
  private void preserve(long b) {
    try {
      byte[] old = new byte[blockLength(b)];
      disk.read(b << shift, ByteBuffer.wrap(old));
      preserved.put(b, old);
    } catch (IOException e) {
      broken = new IOException("copy-before-write could not preserve block " + b + " of disk " + id
          + " (" + e.getMessage() + "); the cycle is sent again from a later cut", e);
    }
  }

  /** Freezes the open generation; the caller holds the machine's cut write lock. */
  synchronized long cut(@Nullable BlockSet alsoInclude) {
    if (frozen != null) {
      throw new IllegalStateException("disk " + id + " still has a cycle in flight");
    }
    BlockSet f = open;
    if (alsoInclude != null) {
      f.addAll(alsoInclude);
    }
    frozen = f;
    open = new BlockSet(blockCount);
    done = new BlockSet(blockCount);
    cursor = f.cursor();
    lookahead = -1;
    return f.cardinality();
  }

  /** The blocks that hold allocated data, for initial replication. */
  BlockSet allocatedBlocks() throws IOException {
    BlockSet blocks = new BlockSet(blockCount);
    for (ByteRange r : disk.allocatedRanges()) {
      blocks.addRange(r.offsetBytes() >>> shift, ((r.endBytes() - 1) >>> shift) + 1);
    }
    return blocks;
  }

  /**
   * Reads the next run of frozen blocks in ascending order: consecutive blocks that no guest write
   * preserved, up to {@code maxBlocks}, in one disk read; or one preserved block. Returns null when
   * the whole generation was read.
   */
  public synchronized @Nullable Chunk readNext(int maxBlocks) throws IOException {
    BlockSet.Cursor it = cursor;
    if (frozen == null || it == null) {
      throw new IllegalStateException("disk " + id + " has no cycle in flight");
    }
    if (broken != null) {
      throw broken;
    }
    while (lookahead >= 0 || it.hasNext()) {
      long b = lookahead >= 0 ? lookahead : it.next();
      lookahead = -1;
      byte[] old = preserved.take(b, blockLength(b));
      if (old != null) {
        return new Chunk(b, 1, b << shift, old);
      }
      if (done.contains(b)) {
        continue;
      }
      long end = b + 1;
      while (end - b < maxBlocks && it.hasNext()) {
        long next = it.next();
        if (next != end || done.contains(next) || preserved.contains(next)) {
          lookahead = next;
          break;
        }
        end++;
      }
      long offset = b << shift;
      byte[] data = new byte[(int) (Math.min(end << shift, disk.sizeBytes()) - offset)];
      disk.read(offset, ByteBuffer.wrap(data));
      done.addRange(b, end);
      return new Chunk(b, end - b, offset, data);
    }
    return null;
  }

  /**
   * The next frozen block the sender will look at, or -1 when none is left; it may turn out to be
   * one a guest write preserved or one already read.
   */
  public synchronized long peekNext() {
    BlockSet.Cursor it = cursor;
    if (it == null) {
      return -1;
    }
    if (lookahead < 0 && it.hasNext()) {
      lookahead = it.next();
    }
    return lookahead;
  }

  /** The replica has the frozen generation durably: forget it. */
  synchronized void cycleAcknowledged() {
    frozen = null;
    cursor = null;
    lookahead = -1;
    done = new BlockSet(blockCount);
    preserved.close();
    broken = null;
  }

  /** The frozen generation did not reach the replica: its blocks join the open generation again. */
  synchronized void cycleFailed() {
    if (frozen != null) {
      open.addAll(frozen);
    }
    cycleAcknowledged();
  }

  /** Dirty blocks not yet acknowledged (open and frozen generations together). */
  synchronized long pendingBlocks() {
    return frozen == null ? open.cardinality() : open.unionCardinality(frozen);
  }

  /** Stops tracking and drops all state; later writes pass through untracked. */
  /** Closes the spill log of the cycle in flight (the engine closes); tracking goes on. */
  synchronized void closeSpill() {
    preserved.close();
  }

  synchronized void release() {
    released = true;
    watchers.clear();
    open = new BlockSet(blockCount);
    cycleAcknowledged();
  }

  /** Bytes copy-before-write has put in the spill log during this cycle. */
  synchronized long spilledBytes() {
    return preserved.spilledBytes();
  }

  /** Blocks read for a cycle: {@code blocks} blocks from {@code firstBlock}, at {@code offsetBytes}. */
  public record Chunk(long firstBlock, long blocks, long offsetBytes, byte[] data) {}

  void skipCopyBeforeWrite() {
    copyBeforeWriteSkipped = true;
  }

  boolean tracksCrashes() {
    return activity != null;
  }

}
