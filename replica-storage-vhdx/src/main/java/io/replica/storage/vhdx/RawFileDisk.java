package io.replica.storage.vhdx;

import io.replica.spi.storage.ByteRange;
import io.replica.spi.storage.DiskSpec;
import io.replica.spi.storage.VirtualDisk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.ReadOnlyFileSystemException;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Objects;

/**
 * A raw disk image: the file's bytes are the disk's, as {@code qemu-img create -f raw} makes them.
 * The file has no metadata, so the logical sector size is the caller's (512 unless the guest uses
 * 4096-byte sectors) and the size is the file's length. Unwritten parts of a sparse file read as
 * zeros; allocation cannot be told apart portably, so {@link #allocatedRanges()} is the whole disk.
 */
public final class RawFileDisk implements VirtualDisk {
  private final Path path;
  private final FileChannel channel;
  private final long sizeBytes;
  private final int sectorBytes;
  private final boolean readOnly;
  private volatile boolean closed;

  private RawFileDisk(Path path, FileChannel channel, long sizeBytes, int sectorBytes, boolean readOnly) {
    this.path = path;
    this.channel = channel;
    this.sizeBytes = sizeBytes;
    this.sectorBytes = sectorBytes;
    this.readOnly = readOnly;
  }

  /**
   * Opens an existing raw image.
   *
   * @param logicalSectorSizeBytes 512 or 4096
   * @throws IllegalArgumentException if the sector size is neither, or the file's length is not a
   *     positive multiple of it
   * @throws IOException if the file cannot be opened
   */
  public static RawFileDisk open(Path path, int logicalSectorSizeBytes, boolean readOnly) throws IOException {
    Objects.requireNonNull(path, "path");
    if (logicalSectorSizeBytes != 512 && logicalSectorSizeBytes != 4096) {
      throw new IllegalArgumentException("logical sector size " + logicalSectorSizeBytes
          + " is not supported; use 512 or 4096");
    }
    FileChannel ch = readOnly ? FileChannel.open(path, StandardOpenOption.READ)
        : FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
    long size = ch.size();
    if (size <= 0 || size % logicalSectorSizeBytes != 0) {
      ch.close();
      throw new IllegalArgumentException("raw disk '" + path + "' is " + size + " bytes long, not a positive"
          + " multiple of the " + logicalSectorSizeBytes + "-byte sector; resize it (qemu-img resize -f raw)"
          + " or check that it is a raw image");
    }
    return new RawFileDisk(path, ch, size, logicalSectorSizeBytes, readOnly);
  }

  /**
   * Creates a sparse raw image of {@code spec}'s size (its other fields but the logical sector size
   * have no meaning for a raw file).
   *
   * @throws FileAlreadyExistsException if the file exists
   */
  public static RawFileDisk create(Path path, DiskSpec spec) throws IOException {
    try (FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      ch.truncate(0);
      ch.write(ByteBuffer.allocate(1), spec.sizeBytes() - 1); // sparse: only the last byte is written
    }
    return open(path, spec.logicalSectorSizeBytes(), false);
  }

  /** The image file. */
  public Path path() {
    return path;
  }

  @Override
  public long sizeBytes() {
    return sizeBytes;
  }

  @Override
  public int logicalSectorSizeBytes() {
    return sectorBytes;
  }

  @Override
  public boolean isReadOnly() {
    return readOnly;
  }

  @Override
  public void read(long offsetBytes, ByteBuffer dst) throws IOException {
    check(offsetBytes, dst.remaining());
    long pos = offsetBytes;
    while (dst.hasRemaining()) {
      int n = channel.read(dst, pos);
      if (n < 0) { // the file shrank under us: what is not there reads as zeros
        while (dst.hasRemaining()) {
          dst.put((byte) 0);
        }
        return;
      }
      pos += n;
    }
  }

  @Override
  public void write(long offsetBytes, ByteBuffer src) throws IOException {
    check(offsetBytes, src.remaining());
    if (readOnly) {
      throw new ReadOnlyFileSystemException();
    }
    long pos = offsetBytes;
    while (src.hasRemaining()) {
      pos += channel.write(src, pos);
    }
  }

  @Override
  public void flush() throws IOException {
    ensureOpen();
    if (!readOnly) {
      channel.force(false);
    }
  }

  @Override
  public List<ByteRange> allocatedRanges() throws IOException {
    ensureOpen();
    return List.of(new ByteRange(0, sizeBytes));
  }

  private void check(long offset, long length) throws IOException {
    ensureOpen();
    if (offset < 0 || length < 0 || offset % sectorBytes != 0 || length % sectorBytes != 0
        || offset > sizeBytes || length > sizeBytes - offset) {
      throw new IllegalArgumentException("I/O of " + length + " bytes at offset " + offset + " on '" + path
          + "' is invalid: it must be aligned to the " + sectorBytes + "-byte sector and lie inside the "
          + sizeBytes + "-byte disk");
    }
  }

  private void ensureOpen() throws ClosedChannelException {
    if (closed) {
      throw new ClosedChannelException();
    }
  }

  @Override
  public void close() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
    channel.close();
  }

  @Override
  public String toString() {
    return "RawFileDisk[" + path + ", " + sizeBytes + " bytes]";
  }
}
