package io.replica.testkit.contract;

import io.replica.spi.storage.ByteRange;
import io.replica.spi.storage.DiskSpec;
import io.replica.spi.storage.VirtualDisk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.file.ReadOnlyFileSystemException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The smallest correct {@link VirtualDisk}: a byte array. The kit's self-tests wrap it in
 * deliberately broken variants; it is independent of the testkit's real in-memory disk so that a
 * bug there cannot hide a bug in the kit.
 */
final class RefDisk implements VirtualDisk {

  private static final int CHUNK = 64 * 1024;

  /** The bytes of one disk, shared by all of its handles; also the lock. */
  static final class Backing {
    final byte[] bytes;
    final int sectorBytes;
    /** The bytes as of the last flush: what a crash leaves. */
    private final byte[] durable;

    Backing(byte[] bytes, int sectorBytes) {
      this.bytes = bytes;
      this.sectorBytes = sectorBytes;
      this.durable = bytes.clone();
    }

    /** Loses every write and trim since the last flush, as a crash of the medium would. */
    synchronized void crash() {
      System.arraycopy(durable, 0, bytes, 0, bytes.length);
    }

    Backing(DiskSpec spec) {
      this(new byte[Math.toIntExact(spec.sizeBytes())], spec.logicalSectorSizeBytes());
    }
  }

  private final Backing backing;
  private final boolean readOnly;
  private final Runnable onClose;
  private boolean closed;
  /** Set when the store closed under this handle: I/O fails, close still works. */
  private volatile boolean revoked;

  RefDisk(Backing backing, boolean readOnly, Runnable onClose) {
    this.backing = backing;
    this.readOnly = readOnly;
    this.onClose = onClose;
  }

  static RefDisk create(DiskSpec spec) {
    return new RefDisk(new Backing(spec), false, () -> {});
  }

  /** Another handle of the same bytes that refuses writes. */
  RefDisk readOnlyView() {
    return new RefDisk(backing, true, () -> {});
  }

  Backing backing() {
    return backing;
  }

  @Override
  public long sizeBytes() {
    return backing.bytes.length;
  }

  @Override
  public int logicalSectorSizeBytes() {
    return backing.sectorBytes;
  }

  @Override
  public boolean isReadOnly() {
    return readOnly;
  }

  @Override
  public void read(long offsetBytes, ByteBuffer dst) throws IOException {
    synchronized (backing) {
      checkOpen();
      check(offsetBytes, dst.remaining());
      dst.put(backing.bytes, (int) offsetBytes, dst.remaining());
    }
  }

  @Override
  public void write(long offsetBytes, ByteBuffer src) throws IOException {
    synchronized (backing) {
      checkWritable();
      check(offsetBytes, src.remaining());
      src.get(backing.bytes, (int) offsetBytes, src.remaining());
    }
  }

  @Override
  public void flush() throws IOException {
    synchronized (backing) {
      checkOpen();
      System.arraycopy(backing.bytes, 0, backing.durable, 0, backing.bytes.length);
    }
  }

  /** Every 64 KiB chunk that holds a non-zero byte, neighbours joined. */
  @Override
  public List<ByteRange> allocatedRanges() throws IOException {
    synchronized (backing) {
      checkOpen();
      List<ByteRange> ranges = new ArrayList<>();
      byte[] bytes = backing.bytes;
      long start = -1;
      for (int chunk = 0; chunk < bytes.length; chunk += CHUNK) {
        int end = Math.min(bytes.length, chunk + CHUNK);
        boolean used = false;
        for (int i = chunk; i < end && !used; i++) {
          used = bytes[i] != 0;
        }
        if (used && start < 0) {
          start = chunk;
        } else if (!used && start >= 0) {
          ranges.add(new ByteRange(start, chunk - start));
          start = -1;
        }
      }
      if (start >= 0) {
        ranges.add(new ByteRange(start, bytes.length - start));
      }
      return ranges;
    }
  }

  @Override
  public void trim(long offsetBytes, long lengthBytes) throws IOException {
    synchronized (backing) {
      checkWritable();
      check(offsetBytes, lengthBytes);
      Arrays.fill(
          backing.bytes, (int) offsetBytes, (int) (offsetBytes + lengthBytes), (byte) 0);
    }
  }

  @Override
  public void close() {
    boolean first;
    synchronized (backing) {
      first = !closed;
      closed = true;
    }
    if (first) {
      onClose.run();
    }
  }

  /** The store was closed: from now on I/O fails as if the handle were closed. */
  void revoke() {
    revoked = true;
  }

  private void checkOpen() throws ClosedChannelException {
    if (closed || revoked) {
      throw new ClosedChannelException();
    }
  }

  private void checkWritable() throws ClosedChannelException {
    checkOpen();
    if (readOnly) {
      throw new ReadOnlyFileSystemException();
    }
  }

  private void check(long offsetBytes, long lengthBytes) {
    int sector = backing.sectorBytes;
    if (offsetBytes % sector != 0 || lengthBytes % sector != 0) {
      throw new IllegalArgumentException(
          "I/O at " + offsetBytes + " of " + lengthBytes + " bytes is not sector-aligned");
    }
    if (offsetBytes < 0 || lengthBytes < 0 || offsetBytes > backing.bytes.length - lengthBytes) {
      throw new IllegalArgumentException(
          "I/O at " + offsetBytes + " of " + lengthBytes + " bytes is outside the disk");
    }
  }
}
