package io.replica.testkit.memory;

import io.replica.spi.storage.ByteRange;
import io.replica.spi.storage.DiskSpec;
import io.replica.spi.storage.VirtualDisk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.NoSuchFileException;
import java.util.List;
import java.util.Objects;
import java.util.function.Supplier;
import java.util.random.RandomGenerator;
import org.jspecify.annotations.Nullable;

/**
 * A handle on a virtual disk held in memory: the primary's disks in a test (made with
 * {@link #create(DiskSpec)}), or what an {@link InMemoryDiskStore} hands out.
 *
 * <p>It is a strict fake of a block device, so that code that would break on real hardware breaks
 * in tests too:
 * <ul>
 *   <li>every offset and length must be a multiple of the logical sector size and lie inside the
 *       disk ({@link IllegalArgumentException});
 *   <li>a read-only handle refuses writes and trims ({@link java.nio.file.ReadOnlyFileSystemException});
 *   <li>a closed handle refuses everything ({@link java.nio.channels.ClosedChannelException});
 *   <li>writes are visible at once but durable only after {@link #flush()}: {@link #simulateCrash()}
 *       throws away what was not flushed, and {@link #simulateCrash(RandomGenerator)} keeps a random
 *       subset of the unflushed sectors, the way a power loss tears a multi-sector write.
 * </ul>
 *
 * <p>Content is sparse, in chunks of 64 KiB that exist only once written, so a 64 TiB disk costs
 * nothing until used; {@link #allocatedRanges()} reports the written chunks, and a chunk that is
 * flushed as all zeros (or trimmed) gives its space back.
 *
 * <p>All handles of one disk share its content, its fault injection and its counters; each handle
 * has its own read-only and closed state. The inspection and fault methods ({@link
 * #contentSnapshot()}, {@link #failNextWrites(int, String)} and so on) act on the shared disk and
 * keep working after the handle is closed, so a test can check a disk the engine has closed. Safe for
 * concurrent use; one lock per disk.
 */
public final class InMemoryVirtualDisk implements VirtualDisk {

  private final DiskContent content;
  private final boolean readOnly;
  private final StorageLeaks.OpenedAt openedAt;
  private volatile @Nullable String closedBecause;
  private volatile @Nullable String revokedBecause;

  InMemoryVirtualDisk(DiskContent content, boolean readOnly) {
    this.content = content;
    this.readOnly = readOnly;
    this.openedAt = new StorageLeaks.OpenedAt(
        "in-memory disk '" + content.name + "' (" + (readOnly ? "read-only" : "read-write")
            + ") was opened here");
  }

  /**
   * A new, empty, writable disk that belongs to no store, named "disk" in messages.
   *
   * @throws NullPointerException if {@code spec} is null
   */
  public static InMemoryVirtualDisk create(DiskSpec spec) {
    return create("disk", spec);
  }

  /**
   * A new, empty, writable disk that belongs to no store; {@code name} only appears in messages.
   *
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if {@code name} is blank
   */
  public static InMemoryVirtualDisk create(String name, DiskSpec spec) {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(spec, "spec");
    if (name.isBlank()) {
      throw new IllegalArgumentException("in-memory disk name is blank; pass a name for messages");
    }
    try {
      return new DiskContent(name, spec, null).openHandle(false);
    } catch (NoSuchFileException e) {
      throw new AssertionError("a new disk cannot be deleted yet", e);
    }
  }

  /**
   * Opens another handle on the same disk, sharing its content (for example a read-only handle for
   * the engine beside the guest's writable one). Works even if this handle is closed.
   *
   * @throws NoSuchFileException if the disk was deleted from its store
   */
  public InMemoryVirtualDisk openAnotherHandle(boolean readOnly) throws NoSuchFileException {
    return content.openHandle(readOnly);
  }

  // ---------------------------------------------------------------- VirtualDisk

  @Override
  public long sizeBytes() {
    return content.spec.sizeBytes();
  }

  @Override
  public int logicalSectorSizeBytes() {
    return content.spec.logicalSectorSizeBytes();
  }

  @Override
  public boolean isReadOnly() {
    return readOnly;
  }

  /**
   * {@inheritDoc}
   *
   * <p>Checks, in this order: closed, alignment and bounds, injected read failure.
   */
  @Override
  public void read(long offsetBytes, ByteBuffer dst) throws IOException {
    Objects.requireNonNull(dst, "dst");
    content.read(this, offsetBytes, dst);
  }

  /**
   * {@inheritDoc}
   *
   * <p>Checks, in this order: closed, read-only, alignment and bounds, injected write failure,
   * capacity ("no space left"); a write that fails any check changes nothing and leaves {@code src} where it was.
   */
  @Override
  public void write(long offsetBytes, ByteBuffer src) throws IOException {
    Objects.requireNonNull(src, "src");
    content.write(this, offsetBytes, src);
  }

  /** Makes every completed write to the disk durable, whichever handle made it. */
  @Override
  public void flush() throws IOException {
    content.flush(this);
  }

  /** The 64 KiB chunks that were written and not released, merged, clipped to the disk size. */
  @Override
  public List<ByteRange> allocatedRanges() throws IOException {
    return content.allocatedRanges(this);
  }

  /**
   * Zeroes the range; whole 64 KiB chunks inside it give their space back at the next flush. Like a
   * write, a trim is durable only after {@link #flush()}.
   */
  @Override
  public void trim(long offsetBytes, long lengthBytes) throws IOException {
    content.trim(this, offsetBytes, lengthBytes);
  }

  /** Closes this handle only; other handles of the disk stay open. Closing twice does nothing. */
  @Override
  public void close() {
    if (closedBecause == null) {
      closedBecause = "was closed";
      content.handleClosed(this);
    }
  }

  // ---------------------------------------------------------------- inspection

  /** The disk's name in its store, or the name given to {@link #create(String, DiskSpec)}. */
  public String name() {
    return content.name;
  }

  /** The geometry the disk was created with. */
  public DiskSpec spec() {
    return content.spec;
  }

  /** Whether this handle is still usable. */
  public boolean isOpen() {
    return closedBecause == null;
  }

  /**
   * A copy of everything the disk reads as now, flushed or not, for assertions.
   *
   * @throws IllegalStateException if the disk is larger than 2 GiB; read ranges instead
   */
  public byte[] contentSnapshot() {
    return content.contentSnapshot();
  }

  /** Whether some write or trim has not been flushed yet, i.e. a crash now would lose something. */
  public boolean hasUnflushedWrites() {
    return content.hasUnflushedWrites();
  }

  /** Bytes of memory the disk holds in its own chunks (not its parent's). */
  public long allocatedBytes() {
    return content.allocatedBytes();
  }

  /** Bytes written through all handles since the disk was made (failed writes not counted). */
  public long bytesWritten() {
    return content.bytesWritten();
  }

  /** Bytes read through all handles since the disk was made. */
  public long bytesRead() {
    return content.bytesRead();
  }

  /** Successful write calls through all handles since the disk was made. */
  public long writeCount() {
    return content.writeCount();
  }

  /** Successful flush calls through all handles since the disk was made. */
  public long flushCount() {
    return content.flushCount();
  }

  // ---------------------------------------------------------------- faults

  /**
   * Loses every write and trim since the last flush, as a power loss loses a disk's write cache.
   * Handles stay open (to also drop the handles, crash the {@link InMemoryDiskStore}).
   */
  public void simulateCrash() {
    content.crash(null);
  }

  /**
   * Like {@link #simulateCrash()}, but each logical sector changed since the last flush keeps its
   * new content or its old one by a coin flip of {@code torn}: a torn write at sector granularity.
   * A sector is never a mix of old and new bytes. The same generator state gives the same outcome.
   */
  public void simulateCrash(RandomGenerator torn) {
    content.crash(Objects.requireNonNull(torn, "torn"));
  }

  /**
   * Makes the next {@code count} writes to the disk (through any handle) fail with an
   * {@link IOException} carrying {@code message}, writing nothing. Zero disarms.
   *
   * @throws IllegalArgumentException if {@code count} is negative
   */
  public void failNextWrites(int count, String message) {
    content.writeFaults.failNext(count, StorageFaults.withMessage(message));
  }

  /**
   * Makes the next {@code count} writes fail with exceptions from {@code failure}, writing nothing;
   * use it for a specific {@link IOException} subtype. Zero disarms.
   *
   * @throws IllegalArgumentException if {@code count} is negative
   */
  public void failNextWrites(int count, Supplier<? extends IOException> failure) {
    content.writeFaults.failNext(count, failure);
  }

  /** Makes the next {@code count} reads fail with {@code message}, reading nothing. Zero disarms. */
  public void failNextReads(int count, String message) {
    content.readFaults.failNext(count, StorageFaults.withMessage(message));
  }

  /** Makes the next {@code count} reads fail with exceptions from {@code failure}. */
  public void failNextReads(int count, Supplier<? extends IOException> failure) {
    content.readFaults.failNext(count, failure);
  }

  /**
   * Makes the next {@code count} flushes fail with {@code message}; a failed flush makes nothing
   * durable (the writes stay visible and unflushed). Zero disarms.
   */
  public void failNextFlushes(int count, String message) {
    content.flushFaults.failNext(count, StorageFaults.withMessage(message));
  }

  /** Makes the next {@code count} flushes fail with exceptions from {@code failure}. */
  public void failNextFlushes(int count, Supplier<? extends IOException> failure) {
    content.flushFaults.failNext(count, failure);
  }

  /**
   * Limits the memory this disk may hold to {@code capacityBytes} (counted in 64 KiB chunks); a
   * write that needs more fails with "no space left" and writes nothing. {@link Long#MAX_VALUE}
   * removes the limit. A store-wide limit ({@link InMemoryDiskStore#setCapacityBytes}) applies too.
   *
   * @throws IllegalArgumentException if {@code capacityBytes} is negative
   */
  public void setCapacityBytes(long capacityBytes) {
    content.setCapacityBytes(capacityBytes);
  }

  @Override
  public String toString() {
    return "InMemoryVirtualDisk['" + content.name + "', " + content.spec.sizeBytes() + " bytes, "
        + (readOnly ? "read-only" : "read-write") + (isOpen() ? "" : ", closed") + "]";
  }

  // ---------------------------------------------------------------- package-private

  DiskContent content() {
    return content;
  }

  StorageLeaks.OpenedAt openedAt() {
    return openedAt;
  }

  void markClosed(String reason) {
    closedBecause = reason;
  }

  /**
   * Makes every later I/O call fail with {@code reason}, while the handle stays registered with its
   * disk until {@link #close()}: its store was closed under it, and a handle nobody closes is still
   * a leak.
   */
  void revoke(String reason) {
    revokedBecause = reason;
  }

  /** Called with the disk's lock held. */
  void checkOpen() throws StorageClosedException {
    String reason = closedBecause;
    if (reason != null) {
      throw new StorageClosedException(
          "in-memory disk '" + content.name + "': this handle " + reason
              + "; open a new handle to use the disk");
    }
    String revoked = revokedBecause;
    if (revoked != null) {
      throw new StorageClosedException(
          "in-memory disk '" + content.name + "': this handle " + revoked
              + "; close it, and use the disk through a store that is open");
    }
  }

  /** Called with the disk's lock held. */
  void checkWritable() {
    if (readOnly) {
      throw new StorageReadOnlyException(
          "in-memory disk '" + content.name + "' was opened read-only through this handle; open"
              + " it with readOnly=false to write or trim");
    }
  }
}
