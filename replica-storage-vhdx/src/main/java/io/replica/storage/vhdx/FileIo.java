package io.replica.storage.vhdx;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

/**
 * Positional access to a VHDX file, with bytes past the end reading as zeros and an optional
 * overlay of 4 KiB sectors: the log replayed in memory on a read-only open.
 */
final class FileIo {

  static final int SECTOR = 4096;

  final Path path;
  final FileChannel channel;
  private final TreeMap<Long, byte[]> overlay = new TreeMap<>();
  private volatile boolean hasOverlay;
  private volatile long replayedLength;

  FileIo(Path path, FileChannel channel) {
    this.path = path;
    this.channel = channel;
  }

  long size() throws IOException {
    return channel.size();
  }

  /**
   * The length the file has once the log is applied: the channel's size, or more after a
   * read-only replay in memory whose log extends the file (the bytes past the channel's end then
   * read as zeros or from the overlay, as the replayed file would).
   */
  long length() throws IOException {
    return Math.max(channel.size(), replayedLength);
  }

  /** Records that the log replayed in memory extends the file to {@code length} bytes. */
  void replayedTo(long length) {
    replayedLength = Math.max(replayedLength, length);
  }

  byte[] read(long offset, int length) throws IOException {
    byte[] b = new byte[length];
    read(offset, ByteBuffer.wrap(b));
    return b;
  }

  /** Fills {@code dst} from {@code offset}; bytes past the end of the file read as zeros. */
  void read(long offset, ByteBuffer dst) throws IOException {
    int start = dst.position();
    long pos = offset;
    while (dst.hasRemaining()) {
      int n = channel.read(dst, pos);
      if (n < 0) {
        while (dst.hasRemaining()) {
          dst.put((byte) 0);
        }
        break;
      }
      pos += n;
    }
    if (hasOverlay) {
      applyOverlay(offset, dst, start);
    }
  }

  private synchronized void applyOverlay(long offset, ByteBuffer dst, int start) {
    long end = offset + (dst.position() - start);
    long first = offset - offset % SECTOR;
    for (Map.Entry<Long, byte[]> e : overlay.subMap(first, true, end, false).entrySet()) {
      long s = e.getKey();
      long from = Math.max(s, offset);
      long to = Math.min(s + SECTOR, end);
      for (long p = from; p < to; p++) {
        dst.put(start + (int) (p - offset), e.getValue()[(int) (p - s)]);
      }
    }
  }

  void write(long offset, ByteBuffer src) throws IOException {
    long pos = offset;
    while (src.hasRemaining()) {
      pos += channel.write(src, pos);
    }
  }

  void write(long offset, byte[] b) throws IOException {
    write(offset, ByteBuffer.wrap(b));
  }

  void force() throws IOException {
    channel.force(false);
  }

  /** Makes reads of the 4 KiB sector at {@code offset} return {@code sector} (read-only replay). */
  synchronized void overlay(long offset, byte[] sector) {
    overlay.put(offset, sector);
    hasOverlay = true;
    replayedTo(offset + SECTOR);
  }

  synchronized int overlaySectors() {
    return overlay.size();
  }

  /** Writes the overlay to the file and drops it; the caller forces the channel. */
  synchronized void applyOverlayToFile() throws IOException {
    for (Map.Entry<Long, byte[]> e : overlay.entrySet()) {
      write(e.getKey(), e.getValue());
    }
    overlay.clear();
    hasOverlay = false;
    if (channel.size() < replayedLength) {
      write(replayedLength - 1, new byte[1]);
    }
  }
}
