package io.replica.testkit.memory;

import io.replica.spi.storage.ByteRange;
import io.replica.spi.storage.DiskSpec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.random.RandomGenerator;
import org.jspecify.annotations.Nullable;

/**
 * The bytes of one in-memory disk, shared by all its handles ({@link InMemoryVirtualDisk}).
 *
 * <p>Content lives in chunks of {@link #CHUNK_BYTES} in a hash map keyed by chunk index, so a huge
 * virtual disk costs nothing until written. Each chunk has a durable image (what survives a crash)
 * and a current image (what reads see); a write makes a chunk "dirty" by giving it a private current
 * array (copy on write), {@link #flush} promotes current to durable, and {@link #crash} throws the
 * current image away (or, torn, keeps a random subset of its changed sectors).
 *
 * <p>One lock guards everything.
 */
final class DiskContent {
  static final int CHUNK_SHIFT = 16;
  static final int CHUNK_BYTES = 1 << CHUNK_SHIFT;
  private static final int CHUNK_MASK = CHUNK_BYTES - 1;
  private static final byte[] ZEROS = new byte[CHUNK_BYTES];
  /** The largest content that {@link #contentSnapshot()} can return in one array. */
  static final long MAX_SNAPSHOT_BYTES = Integer.MAX_VALUE - 8;

  /** One chunk; see the class comment. */
  private static final class Chunk {
    final long index;
    /** What reads see; null reads as zeros. Private to the chunk while it is dirty. */
    byte @Nullable [] current;
    /** What survives a crash if {@link #durableExists}; null reads as zeros. */
    byte @Nullable [] durable;
    /** False for a chunk made since the last flush: after a crash it is gone. */
    boolean durableExists;
    /** Whether current may differ from durable (then the chunk is in the dirty list). */
    boolean dirty;

    Chunk(long index) {
      this.index = index;
    }
  }

  final String name;
  final DiskSpec spec;
  private final @Nullable StorageSpace storeSpace;
  final StorageFaults writeFaults = new StorageFaults();
  final StorageFaults readFaults = new StorageFaults();
  final StorageFaults flushFaults = new StorageFaults();

  private final Object lock = new Object();
  private final LongObjectMap<Chunk> chunks = new LongObjectMap<>();
  private final ArrayList<Chunk> dirty = new ArrayList<>();
  private final Set<InMemoryVirtualDisk> handles = new LinkedHashSet<>();
  private boolean deleted;
  private long capacityBytes = Long.MAX_VALUE;
  private long bytesWritten;
  private long bytesRead;
  private long writeCount;
  private long flushCount;

  DiskContent(String name, DiskSpec spec, @Nullable StorageSpace storeSpace) {
    this.name = name;
    this.spec = spec;
    this.storeSpace = storeSpace;
  }

  // ---------------------------------------------------------------- handles

  InMemoryVirtualDisk openHandle(boolean readOnly) throws NoSuchFileException {
    synchronized (lock) {
      if (deleted) {
        throw new NoSuchFileException(name, null,
            "the in-memory disk was deleted; create or open another disk");
      }
      InMemoryVirtualDisk handle = new InMemoryVirtualDisk(this, readOnly);
      handles.add(handle);
      return handle;
    }
  }

  void handleClosed(InMemoryVirtualDisk handle) {
    synchronized (lock) {
      handles.remove(handle);
    }
  }

  int openHandleCount() {
    synchronized (lock) {
      return handles.size();
    }
  }

  List<StorageLeaks.OpenedAt> openings() {
    synchronized (lock) {
      List<StorageLeaks.OpenedAt> result = new ArrayList<>();
      for (InMemoryVirtualDisk handle : handles) {
        result.add(handle.openedAt());
      }
      return result;
    }
  }

  /** Closes every handle with {@code reason}; later calls on them throw ClosedChannelException. */
  void invalidateHandles(String reason) {
    synchronized (lock) {
      for (InMemoryVirtualDisk handle : handles) {
        handle.markClosed(reason);
      }
      handles.clear();
    }
  }

  /** Makes every open handle fail its calls with {@code reason}; each must still be closed. */
  void revokeHandles(String reason) {
    synchronized (lock) {
      for (InMemoryVirtualDisk handle : handles) {
        handle.revoke(reason);
      }
    }
  }

  // ---------------------------------------------------------------- I/O

  void read(InMemoryVirtualDisk handle, long offsetBytes, ByteBuffer dst) throws IOException {
    synchronized (lock) {
      handle.checkOpen();
      int length = dst.remaining();
      checkRange("read", offsetBytes, length);
      IOException fault = readFaults.poll();
      if (fault != null) {
        throw fault;
      }
      readLocked(offsetBytes, dst, length);
      bytesRead += length;
    }
  }

  void write(InMemoryVirtualDisk handle, long offsetBytes, ByteBuffer src) throws IOException {
    synchronized (lock) {
      handle.checkOpen();
      handle.checkWritable();
      int length = src.remaining();
      checkRange("write", offsetBytes, length);
      IOException fault = writeFaults.poll();
      if (fault != null) {
        throw fault;
      }
      reserveForWrite(offsetBytes, length);
      long position = offsetBytes;
      int left = length;
      while (left > 0) {
        int within = (int) (position & CHUNK_MASK);
        int n = Math.min(left, CHUNK_BYTES - within);
        Chunk chunk = writableChunk(position >>> CHUNK_SHIFT);
        src.get(chunk.current, within, n);
        position += n;
        left -= n;
      }
      bytesWritten += length;
      writeCount++;
    }
  }

  void flush(InMemoryVirtualDisk handle) throws IOException {
    synchronized (lock) {
      handle.checkOpen();
      IOException fault = flushFaults.poll();
      if (fault != null) {
        throw fault;
      }
      commitLocked();
      flushCount++;
    }
  }

  List<ByteRange> allocatedRanges(InMemoryVirtualDisk handle) throws IOException {
    synchronized (lock) {
      handle.checkOpen();
      long[] indexes = allocatedChunkIndexesLocked();
      List<ByteRange> ranges = new ArrayList<>();
      int i = 0;
      while (i < indexes.length) {
        int j = i;
        while (j + 1 < indexes.length && indexes[j + 1] == indexes[j] + 1) {
          j++;
        }
        long start = indexes[i] << CHUNK_SHIFT;
        long end = Math.min((indexes[j] + 1) << CHUNK_SHIFT, spec.sizeBytes());
        ranges.add(new ByteRange(start, end - start));
        i = j + 1;
      }
      return Collections.unmodifiableList(ranges);
    }
  }

  void trim(InMemoryVirtualDisk handle, long offsetBytes, long lengthBytes) throws IOException {
    synchronized (lock) {
      handle.checkOpen();
      handle.checkWritable();
      checkRange("trim", offsetBytes, lengthBytes);
      long position = offsetBytes;
      long end = offsetBytes + lengthBytes;
      while (position < end) {
        long index = position >>> CHUNK_SHIFT;
        int within = (int) (position & CHUNK_MASK);
        int chunkLength = chunkLength(index);
        int n = (int) Math.min(end - position, chunkLength - within);
        Chunk chunk = chunks.get(index);
        if (within == 0 && n == chunkLength) {
          // The whole chunk reads as zeros from now on: drop its image.
          if (chunk != null) {
            markDirty(chunk);
            chunk.current = null;
          }
        } else if (chunk != null && chunk.current != null) {
          // Part of a chunk that holds data: zero that part.
          Arrays.fill(writableChunk(index).current, within, within + n, (byte) 0);
        }
        position += n;
      }
    }
  }

  // ---------------------------------------------------------------- crash and durability

  boolean hasUnflushedWrites() {
    synchronized (lock) {
      for (Chunk chunk : dirty) {
        if (chunk.dirty) {
          return true;
        }
      }
      return false;
    }
  }

  /**
   * Loses what was not flushed. With {@code torn}, each sector that changed since the last flush
   * keeps its new content or its old one by a coin flip of {@code torn}, as after a power loss in
   * the middle of writing back a cache; sectors are never torn inside.
   */
  void crash(@Nullable RandomGenerator torn) {
    synchronized (lock) {
      for (Chunk chunk : dirty) {
        if (!chunk.dirty) {
          continue;
        }
        chunk.dirty = false;
        byte[] survivor = chunk.durable;
        boolean exists = chunk.durableExists;
        if (torn != null) {
          byte[] mixed = tear(chunk, torn);
          if (mixed != null) {
            survivor = mixed;
            exists = true;
          }
        }
        if (!exists || survivor == null) {
          removeChunk(chunk.index);
        } else {
          chunk.current = survivor;
          chunk.durable = survivor;
          chunk.durableExists = true;
        }
      }
      dirty.clear();
    }
  }

  /** The old image of the chunk with some changed sectors replaced by new ones, or null if none. */
  private byte @Nullable [] tear(Chunk chunk, RandomGenerator torn) {
    int length = chunkLength(chunk.index);
    byte[] old;
    if (chunk.durableExists) {
      old = chunk.durable == null ? new byte[length] : chunk.durable.clone();
    } else {
      old = new byte[length];
    }
    byte[] now = chunk.current == null ? ZEROS : chunk.current;
    int sector = spec.logicalSectorSizeBytes();
    boolean any = false;
    for (int from = 0; from < length; from += sector) {
      int to = from + sector;
      if (Arrays.mismatch(old, from, to, now, from, to) >= 0 && torn.nextBoolean()) {
        System.arraycopy(now, from, old, from, sector);
        any = true;
      }
    }
    return any ? old : null;
  }

  private void commitLocked() {
    for (Chunk chunk : dirty) {
      if (!chunk.dirty) {
        continue;
      }
      chunk.dirty = false;
      chunk.durableExists = true;
      if (chunk.current != null && isZero(chunk.current)) {
        chunk.current = null;
      }
      chunk.durable = chunk.current;
      if (chunk.current == null) {
        removeChunk(chunk.index); // zeros need no space
      }
    }
    dirty.clear();
  }

  // ---------------------------------------------------------------- deletion

  /**
   * Marks the disk deleted and frees its space.
   *
   * @throws FileSystemException if a handle is open; nothing changes
   */
  void delete() throws FileSystemException {
    synchronized (lock) {
      if (!handles.isEmpty()) {
        throw new FileSystemException(name, null,
            "the disk is open by " + handles.size() + " handle(s); close them before deleting it");
      }
      deleteLocked();
    }
  }

  private void deleteLocked() {
    deleted = true;
    if (storeSpace != null) {
      storeSpace.release((long) chunks.size() * CHUNK_BYTES);
    }
    chunks.clear();
    dirty.clear();
  }

  // ---------------------------------------------------------------- inspection and faults

  byte[] contentSnapshot() {
    synchronized (lock) {
      long size = spec.sizeBytes();
      if (size > MAX_SNAPSHOT_BYTES) {
        throw new IllegalStateException(
            "cannot snapshot in-memory disk '" + name + "': its " + size + " bytes do not fit in"
                + " one array (at most " + MAX_SNAPSHOT_BYTES + "); read the ranges you need instead");
      }
      byte[] result = new byte[(int) size];
      readLocked(0, ByteBuffer.wrap(result), result.length);
      return result;
    }
  }

  long allocatedBytes() {
    synchronized (lock) {
      return (long) chunks.size() * CHUNK_BYTES;
    }
  }

  void setCapacityBytes(long capacityBytes) {
    if (capacityBytes < 0) {
      throw new IllegalArgumentException(
          "capacity " + capacityBytes + " bytes for in-memory disk '" + name + "' is invalid;"
              + " pass zero or more bytes (Long.MAX_VALUE for no limit)");
    }
    synchronized (lock) {
      this.capacityBytes = capacityBytes;
    }
  }

  long bytesWritten() {
    synchronized (lock) {
      return bytesWritten;
    }
  }

  long bytesRead() {
    synchronized (lock) {
      return bytesRead;
    }
  }

  long writeCount() {
    synchronized (lock) {
      return writeCount;
    }
  }

  long flushCount() {
    synchronized (lock) {
      return flushCount;
    }
  }

  // ---------------------------------------------------------------- helpers (lock held)

  private void checkRange(String operation, long offsetBytes, long lengthBytes) {
    int sector = spec.logicalSectorSizeBytes();
    long size = spec.sizeBytes();
    if (offsetBytes < 0 || lengthBytes < 0 || offsetBytes % sector != 0 || lengthBytes % sector != 0
        || offsetBytes > size || lengthBytes > size - offsetBytes) {
      throw new IllegalArgumentException(
          operation + " of " + lengthBytes + " bytes at offset " + offsetBytes
              + " on in-memory disk '" + name + "' is invalid: offset and length must be multiples"
              + " of the logical sector size " + sector + " and the range must lie inside the disk"
              + " size of " + size + " bytes");
    }
  }

  /** Takes space for the chunks a write will create, or throws with nothing changed. */
  private void reserveForWrite(long offsetBytes, int length) throws IOException {
    if (length == 0) {
      return;
    }
    long first = offsetBytes >>> CHUNK_SHIFT;
    long last = (offsetBytes + length - 1) >>> CHUNK_SHIFT;
    int newChunks = 0;
    for (long index = first; index <= last; index++) {
      if (chunks.get(index) == null) {
        newChunks++;
      }
    }
    reserveChunks(newChunks,
        "writing " + length + " bytes at offset " + offsetBytes);
  }

  private void reserveChunks(int newChunks, String operation) throws IOException {
    if (newChunks == 0) {
      return;
    }
    long needed = (long) newChunks * CHUNK_BYTES;
    long used = (long) chunks.size() * CHUNK_BYTES;
    if (used + needed > capacityBytes) {
      throw new IOException(
          "no space left on in-memory disk '" + name + "': " + operation + " needs " + needed
              + " more bytes but " + used + " of its capacity of " + capacityBytes
              + " bytes are used; nothing was written (raise the limit with setCapacityBytes, or"
              + " trim and flush to free space)");
    }
    if (storeSpace != null && !storeSpace.tryReserve(needed)) {
      throw new IOException(
          "no space left in the in-memory disk store of disk '" + name + "': " + operation
              + " needs " + needed + " more bytes but " + storeSpace.usedBytes() + " of the"
              + " store's capacity of " + storeSpace.capacityBytes() + " bytes are used; nothing"
              + " was written (raise it with InMemoryDiskStore.setCapacityBytes, or delete disks)");
    }
  }

  private void readLocked(long offsetBytes, ByteBuffer dst, int length) {
    long position = offsetBytes;
    int left = length;
    while (left > 0) {
      int within = (int) (position & CHUNK_MASK);
      int n = Math.min(left, CHUNK_BYTES - within);
      copyOut(position >>> CHUNK_SHIFT, within, dst, n);
      position += n;
      left -= n;
    }
  }

  private void copyOut(long index, int within, ByteBuffer dst, int n) {
    Chunk chunk = chunks.get(index);
    if (chunk != null) {
      byte[] current = chunk.current;
      dst.put(current == null ? ZEROS : current, current == null ? 0 : within, n);
    } else {
      dst.put(ZEROS, 0, n);
    }
  }

  /** The chunk at {@code index} with a private current image, ready to change. */
  private Chunk writableChunk(long index) {
    Chunk chunk = chunks.get(index);
    if (chunk == null) {
      return newChunk(index, new byte[chunkLength(index)]);
    }
    if (!chunk.dirty) {
      markDirty(chunk);
      chunk.current = chunk.durable == null ? null : chunk.durable.clone();
    }
    if (chunk.current == null) {
      chunk.current = new byte[chunkLength(index)];
    }
    return chunk;
  }

  /** A dirty chunk that did not exist durably; the caller accounts for its space. */
  private Chunk newChunk(long index, byte @Nullable [] image) {
    Chunk chunk = new Chunk(index);
    chunk.current = image;
    chunk.dirty = true;
    chunks.put(index, chunk);
    dirty.add(chunk);
    return chunk;
  }

  private void markDirty(Chunk chunk) {
    if (!chunk.dirty) {
      chunk.dirty = true;
      dirty.add(chunk);
    }
  }

  private void removeChunk(long index) {
    if (chunks.remove(index) && storeSpace != null) {
      storeSpace.release(CHUNK_BYTES);
    }
  }

  private long[] allocatedChunkIndexesLocked() {
    long[] own = chunks.sortedKeys();
    long[] result = new long[own.length];
    int n = 0;
    for (long index : own) {
      if (chunks.get(index).current != null) {
        result[n++] = index;
      }
    }
    return Arrays.copyOf(result, n);
  }

  private int chunkLength(long index) {
    return (int) Math.min(CHUNK_BYTES, spec.sizeBytes() - (index << CHUNK_SHIFT));
  }

  private static boolean isZero(byte[] image) {
    return Arrays.mismatch(image, 0, image.length, ZEROS, 0, image.length) < 0;
  }

  @Override
  public String toString() {
    return "in-memory disk '" + name + "'";
  }
}
