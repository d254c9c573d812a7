package io.replica.storage.vhdx;

import io.replica.spi.storage.ByteRange;
import io.replica.spi.storage.DiskSpec;
import io.replica.spi.storage.VirtualDisk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.file.Path;
import java.nio.file.ReadOnlyFileSystemException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import org.jspecify.annotations.Nullable;

/**
 * A VHDX file (fixed, dynamic or differencing) as a {@link VirtualDisk}.
 *
 * <p>Use it where a disk is named by a path rather than by a store name: the {@code replica disk}
 * commands, the demo, tools that inspect a replica disk. Inside the engine, disks come from {@link
 * VhdxDiskStore}, which hands out handles of this class.
 *
 * <p>Writes become durable, and visible to other processes, at {@link #flush()}; the BAT changes
 * they cause go through the VHDX log, so a crash leaves the file as it was at the last flush or
 * later, never torn. A read-only open never writes the file, not even to replay its log.
 */
public final class VhdxDisk implements VirtualDisk {

  /** Block size of new dynamic and fixed disks, as Hyper-V uses: 32 MiB. */
  public static final long DEFAULT_BLOCK_SIZE_BYTES = VhdxFile.DEFAULT_BLOCK_SIZE;

  private final VhdxFile file;
  private final boolean readOnly;
  private final Releaser releaser;
  private volatile boolean closed;
  /** Why calls fail although this handle was not closed: its store was; null while it is open. */
  private volatile @Nullable String revoked;

  /** What happens when a handle closes: the store counts handles, a lone handle closes its file. */
  interface Releaser {
    void release(VhdxDisk disk) throws IOException;
  }

  VhdxDisk(VhdxFile file, boolean readOnly, Releaser releaser) {
    this.file = file;
    this.readOnly = readOnly;
    this.releaser = releaser;
  }

  /**
   * Opens a VHDX file and, for a differencing file, its parent chain (read-only).
   *
   * @throws java.nio.file.NoSuchFileException if the file or a parent is missing
   * @throws CorruptDiskException if the file or a parent breaks the format
   */
  public static VhdxDisk open(Path path, boolean readOnly) throws IOException {
    VhdxFile f = VhdxFile.open(Objects.requireNonNull(path, "path"), !readOnly, false);
    return new VhdxDisk(f, readOnly, d -> d.file.close());
  }

  /**
   * Creates a dynamic (or, with {@code spec.fixed()}, fully allocated) VHDX file with 32 MiB
   * blocks and opens it for writing.
   *
   * @throws java.nio.file.FileAlreadyExistsException if the file exists; it is left alone
   */
  public static VhdxDisk create(Path path, DiskSpec spec) throws IOException {
    return create(path, spec, DEFAULT_BLOCK_SIZE_BYTES);
  }

  /**
   * Like {@link #create(Path, DiskSpec)} with a chosen block size: smaller blocks make allocated
   * ranges finer and sparse files smaller, larger ones make the BAT smaller.
   *
   * @param blockSizeBytes a power of two from 1 MiB to 256 MiB
   * @throws IllegalArgumentException if the block size or the disk size (over 64 TiB) is invalid
   */
  public static VhdxDisk create(Path path, DiskSpec spec, long blockSizeBytes) throws IOException {
    Objects.requireNonNull(spec, "spec");
    VhdxFile.create(Objects.requireNonNull(path, "path"),
        new VhdxFile.Options(spec.sizeBytes(), spec.logicalSectorSizeBytes(),
            spec.physicalSectorSizeBytes(), blockSizeBytes, spec.fixed(), null, null));
    return open(path, false);
  }

  /**
   * Creates a differencing child of {@code parent} (the parent is only read) and opens it for
   * writing. The child records the parent's relative path and its DataWriteGuid: writing the
   * parent afterwards breaks the child.
   */
  public static VhdxDisk createChild(Path child, Path parent) throws IOException {
    VhdxFile.createChild(Objects.requireNonNull(child, "child"),
        Objects.requireNonNull(parent, "parent"));
    return open(child, false);
  }

  /**
   * Writes everything {@code child} holds into its parent file, leaving the child file in place
   * (the caller deletes it). Neither file may be open elsewhere. A crash halfway leaves a child
   * that still opens and reads the same, so the merge can be run again.
   */
  public static void mergeIntoParent(Path child) throws IOException {
    try (VhdxFile f = VhdxFile.open(Objects.requireNonNull(child, "child"), true, true)) {
      if (!f.hasParent()) {
        throw new IllegalArgumentException(
            "'" + child + "' is not a differencing disk; there is nothing to merge");
      }
      f.mergeIntoParent();
    }
  }

  @Override
  public long sizeBytes() {
    return file.sizeBytes();
  }

  @Override
  public int logicalSectorSizeBytes() {
    return file.logicalSectorSize();
  }

  /** The physical sector size the file declares, 512 or 4096. */
  public int physicalSectorSizeBytes() {
    return file.physicalSectorSize();
  }

  /** The payload block size: the unit of allocation. */
  public long blockSizeBytes() {
    return file.blockSize();
  }

  /** Whether every block was allocated at creation (a "fixed" VHDX). */
  public boolean isFixed() {
    return file.isFixed();
  }

  /** The parent file of a differencing disk, as found through its locator. */
  public Optional<Path> parentPath() {
    return Optional.ofNullable(file.parent).map(p -> p.path);
  }

  /** The files of the chain, this one first, then each parent. */
  public List<Path> chain() {
    List<Path> out = new ArrayList<>();
    for (VhdxFile f = file; f != null; f = f.parent) {
      out.add(f.path);
    }
    return out;
  }

  /** The identity a child records of this file; it changes with every write session. */
  public UUID dataWriteGuid() {
    return file.header().dataWriteGuid();
  }

  @Override
  public boolean isReadOnly() {
    return readOnly;
  }

  @Override
  public void read(long offsetBytes, ByteBuffer dst) throws IOException {
    check(offsetBytes, dst.remaining());
    file.read(offsetBytes, dst);
  }

  @Override
  public void write(long offsetBytes, ByteBuffer src) throws IOException {
    check(offsetBytes, src.remaining());
    if (readOnly) {
      throw new ReadOnlyFileSystemException();
    }
    file.write(offsetBytes, src);
  }

  @Override
  public void flush() throws IOException {
    ensureOpen();
    if (!readOnly) {
      file.flush();
    }
  }

  @Override
  public List<ByteRange> allocatedRanges() throws IOException {
    ensureOpen();
    return file.allocatedRanges();
  }

  /**
   * Zeroes the range: whole blocks become ZERO blocks (their space is not reused), partial blocks
   * are overwritten with zeros. A fixed disk keeps its blocks and gets zeros written.
   */
  @Override
  public void trim(long offsetBytes, long lengthBytes) throws IOException {
    check(offsetBytes, lengthBytes);
    if (readOnly) {
      throw new ReadOnlyFileSystemException();
    }
    file.trim(offsetBytes, lengthBytes);
  }

  /**
   * Makes the disk larger; the new space reads as zeros (in a child, as the parent). The BAT is
   * moved to the end of the file if it has no room.
   *
   * @throws IllegalArgumentException if the size is smaller, not sector-aligned or over 64 TiB
   */
  public void grow(long newSizeBytes) throws IOException {
    ensureOpen();
    if (readOnly) {
      throw new ReadOnlyFileSystemException();
    }
    file.grow(newSizeBytes);
  }

  private void check(long offset, long length) throws IOException {
    ensureOpen();
    int s = file.logicalSectorSize();
    if (offset < 0 || length < 0 || offset % s != 0 || length % s != 0
        || offset > file.sizeBytes() || length > file.sizeBytes() - offset) {
      throw new IllegalArgumentException(
          "I/O of " + length + " bytes at offset " + offset + " on '" + file.path
              + "' is invalid: it must be aligned to the " + s + "-byte sector and lie inside"
              + " the " + file.sizeBytes() + "-byte disk");
    }
  }

  private void ensureOpen() throws ClosedChannelException {
    if (closed) {
      throw new ClosedChannelException();
    }
    String why = revoked;
    if (why != null) {
      throw new RevokedHandleException(why);
    }
  }

  /**
   * Makes every later I/O call throw a {@link ClosedChannelException} that says {@code why}: the
   * store closed the file under this handle. {@link #close()} still works.
   */
  void revoke(String why) {
    revoked = why;
  }

  /** A {@link ClosedChannelException} that says why a handle that was not closed cannot be used. */
  private static final class RevokedHandleException extends ClosedChannelException {
    private static final long serialVersionUID = 1L;

    private final String why;

    RevokedHandleException(String why) {
      this.why = why;
    }

    @Override
    public String getMessage() {
      return why;
    }
  }

  VhdxFile file() {
    return file;
  }

  @Override
  public void close() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
    releaser.release(this);
  }
}
