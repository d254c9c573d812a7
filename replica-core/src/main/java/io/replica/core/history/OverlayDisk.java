package io.replica.core.history;

import io.replica.core.tracking.BlockSet;
import io.replica.spi.storage.ByteRange;
import io.replica.spi.storage.VirtualDisk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * A writable disk over a read-only recovery point: writes land on a disk of their own, reads take
 * written sectors from there and the rest from the point. Dropping the top disk drops the writes;
 * the point is never changed.
 */
public final class OverlayDisk implements VirtualDisk {
  private final VirtualDisk base;
  private final VirtualDisk top;
  private final int sector;
  /** Sectors written to the top disk. */
  private final BlockSet written;
  private volatile boolean closed;

  /** Keeps the map of written sectors where a restart finds it; called on each flush. */
  public interface WrittenMap {
    void save(long[] byteRanges) throws IOException;
  }

  private final @Nullable WrittenMap saved;

  /**
   * An overlay whose top disk already holds the writes of {@code writtenRanges} (byte ranges as
   * {@code [offset, length, ...]}); {@code saved} keeps the map at each flush, so the writes a
   * flush made durable read back after a restart.
   */
  public OverlayDisk(VirtualDisk base, VirtualDisk top, long[] writtenRanges, @Nullable WrittenMap saved) {
    this.base = base;
    this.top = top;
    this.sector = base.logicalSectorSizeBytes();
    this.written = new BlockSet(base.sizeBytes() / sector);
    this.saved = saved;
    for (int i = 0; i + 1 < writtenRanges.length; i += 2) {
      long from = writtenRanges[i];
      long to = from + writtenRanges[i + 1];
      if (from < 0 || writtenRanges[i + 1] <= 0 || to > base.sizeBytes() || from % sector != 0 || to % sector != 0) {
        throw new IllegalArgumentException("written range " + from + "+" + writtenRanges[i + 1]
            + " does not fit a disk of " + base.sizeBytes() + " bytes with " + sector + "-byte sectors");
      }
      written.addRange(from / sector, to / sector);
    }
  }

  public VirtualDisk top() {
    return top;
  }

  /** The sectors written, ascending. */
  public synchronized List<Long> writtenSectors() {
    List<Long> out = new java.util.ArrayList<>();
    BlockSet.Cursor c = written.cursor();
    while (c.hasNext()) {
      out.add(c.next());
    }
    return out;
  }

  @Override
  public long sizeBytes() {
    return base.sizeBytes();
  }

  @Override
  public int logicalSectorSizeBytes() {
    return sector;
  }

  @Override
  public boolean isReadOnly() {
    return false;
  }

  private void check(long offset, int length) throws IOException {
    if (closed) {
      throw new ClosedChannelException();
    }
    if (offset < 0 || offset % sector != 0 || length % sector != 0 || offset > sizeBytes() - length) {
      throw new IllegalArgumentException("I/O of " + length + " bytes at offset " + offset + " is invalid:"
          + " offset and length must be multiples of the " + sector + "-byte sector inside the disk's "
          + sizeBytes() + " bytes");
    }
  }

  @Override
  public synchronized void read(long offsetBytes, ByteBuffer dst) throws IOException {
    check(offsetBytes, dst.remaining());
    long end = offsetBytes + dst.remaining();
    for (long at = offsetBytes; at < end; ) {
      boolean fromTop = written.contains(at / sector);
      long runEnd = at + sector;
      while (runEnd < end && written.contains(runEnd / sector) == fromTop) {
        runEnd += sector;
      }
      ByteBuffer part = dst.slice();
      part.limit((int) (runEnd - at));
      (fromTop ? top : base).read(at, part);
      dst.position(dst.position() + (int) (runEnd - at));
      at = runEnd;
    }
  }

  @Override
  public synchronized void write(long offsetBytes, ByteBuffer src) throws IOException {
    int length = src.remaining();
    check(offsetBytes, length);
    top.write(offsetBytes, src);
    written.addRange(offsetBytes / sector, (offsetBytes + length) / sector);
  }

  @Override
  public void flush() throws IOException {
    top.flush();
    if (saved != null) {
      long[] ranges;
      synchronized (this) {
        ranges = written.byteRanges(Integer.numberOfTrailingZeros(sector), sizeBytes());
      }
      saved.save(ranges);
    }
  }

  @Override
  public List<ByteRange> allocatedRanges() {
    return List.of(new ByteRange(0, sizeBytes()));
  }

  @Override
  public void close() throws IOException {
    closed = true;
  }
}
