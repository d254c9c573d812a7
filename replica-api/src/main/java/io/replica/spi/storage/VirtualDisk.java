package io.replica.spi.storage;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * A virtual disk: a fixed number of bytes addressed by offset, read and written in whole logical
 * sectors.
 *
 * <p>Implementations behave like a real block device: I/O must start and end on a logical sector
 * boundary and stay inside the disk, a write is durable only after {@link #flush()}, and a closed
 * disk refuses every call. Rules numbered D1.x in {@code docs/spi-rules.md} spell this out; the
 * testkit's {@code VirtualDiskContract} checks them.
 *
 * <p>Instances must be safe for concurrent use: guest writes and the replication engine's reads of
 * other blocks run on different threads.
 */
public interface VirtualDisk extends Closeable {

  /** The virtual size in bytes; a multiple of {@link #logicalSectorSizeBytes()}. */
  long sizeBytes();

  /** The logical sector size, 512 or 4096; every offset and length is a multiple of it. */
  int logicalSectorSizeBytes();

  /** Whether this handle refuses writes. */
  boolean isReadOnly();

  /**
   * Reads {@code dst.remaining()} bytes starting at {@code offsetBytes} into {@code dst},
   * advancing its position to its limit. Unwritten ranges read as zeros.
   *
   * @throws IllegalArgumentException if the offset or length is not sector-aligned or the range
   *     lies outside the disk
   * @throws java.nio.channels.ClosedChannelException if the disk is closed
   * @throws IOException if the medium fails
   */
  void read(long offsetBytes, ByteBuffer dst) throws IOException;

  /**
   * Writes {@code src.remaining()} bytes at {@code offsetBytes}, advancing the buffer's position
   * to its limit. The bytes are visible to reads at once and durable after the next
   * {@link #flush()}.
   *
   * @throws IllegalArgumentException if the offset or length is not sector-aligned or the range
   *     lies outside the disk
   * @throws java.nio.file.ReadOnlyFileSystemException if the disk was opened read-only
   * @throws java.nio.channels.ClosedChannelException if the disk is closed
   * @throws IOException if the medium fails
   */
  void write(long offsetBytes, ByteBuffer src) throws IOException;

  /** Makes every completed write durable. */
  void flush() throws IOException;

  /**
   * The ranges that may hold non-zero data, ascending and disjoint; everything outside them reads
   * as zeros. Initial replication sends only these. An implementation that cannot tell returns one
   * range covering the whole disk.
   */
  List<ByteRange> allocatedRanges() throws IOException;

  /**
   * Tells the disk that a range will read as zeros from now on and its space may be released.
   *
   * @throws UnsupportedOperationException if the format cannot release space; nothing changes
   */
  default void trim(long offsetBytes, long lengthBytes) throws IOException {
    throw new UnsupportedOperationException(
        "trim is not supported by " + getClass().getSimpleName() + "; the range is unchanged");
  }
}
