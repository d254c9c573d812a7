package io.replica.storage.vhdx;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.zip.CRC32C;

/**
 * The VHDX log (MS-VHDX 2.3): finding the active sequence, replaying it, and building entries.
 *
 * <p>Entries are validated without loading them whole: a log may be gigabytes long, so the
 * checksum is computed in pieces and descriptors are read one sector at a time.
 */
final class Log {

  static final int SECTOR = 4096;
  private static final int PIECE = Le.MIB;
  private static final long MIN_TARGET = 192L * Le.KIB;
  private static final long MAX_TARGET = 1L << 52;

  /** Where a replay puts the sectors it rebuilds: the file, or an in-memory overlay. */
  interface Sink {
    void sector(long fileOffset, byte[] sector) throws IOException;

    void zeros(long fileOffset, long length) throws IOException;
  }

  /** A valid entry found by the scan. */
  record Entry(long pos, long length, long tail, long sequence, int descriptors,
      long flushedFileOffset, long lastFileOffset) {}

  private final Path file;
  private final FileIo io;
  private final long logOffset;
  private final long logLength;
  private final UUID guid;

  Log(FileIo io, Header header) {
    this.file = io.path;
    this.io = io;
    this.logOffset = header.logOffsetBytes();
    this.logLength = header.logLengthBytes();
    this.guid = header.logGuid();
  }

  private byte[] ring(long pos, int length) throws IOException {
    byte[] b = new byte[length];
    long p = pos % logLength;
    int done = 0;
    while (done < length) {
      int n = (int) Math.min(length - done, logLength - p);
      byte[] part = io.read(logOffset + p, n);
      System.arraycopy(part, 0, b, done, n);
      done += n;
      p = (p + n) % logLength;
    }
    return b;
  }

  /** The entry at {@code pos}, or null if it is not a valid entry of this log's GUID. */
  Entry entryAt(long pos) throws IOException {
    byte[] h = ring(pos, SECTOR);
    if (!Le.signature(h, 0, "loge") || !Le.guid(h, 32).equals(guid)) {
      return null;
    }
    long length = Le.u32(h, 8);
    long tail = Le.u32(h, 12);
    long seq = Le.u64(h, 16);
    long count = Le.u32(h, 24);
    if (length < SECTOR || length % SECTOR != 0 || length > logLength || tail % SECTOR != 0
        || tail >= logLength || seq == 0) {
      return null;
    }
    long descriptorSectors = (count + 2 + 127) / 128;
    if (descriptorSectors * SECTOR > length) {
      return null;
    }
    long dataSectors = 0;
    byte[] sector = h;
    long sectorIndex = 0;
    for (long i = 0; i < count; i++) {
      long s = (i + 2) / 128;
      if (s != sectorIndex) {
        sector = ring(pos + s * SECTOR, SECTOR);
        sectorIndex = s;
      }
      int at = (int) ((i + 2) % 128) * 32;
      if (Le.u64(sector, at + 24) != seq) {
        return null;
      }
      if (Le.signature(sector, at, "desc")) {
        if (Le.u64(sector, at + 16) % SECTOR != 0) {
          return null;
        }
        dataSectors++;
      } else if (Le.signature(sector, at, "zero")) {
        if (Le.u64(sector, at + 8) % SECTOR != 0 || Le.u64(sector, at + 16) % SECTOR != 0) {
          return null;
        }
      } else {
        return null;
      }
    }
    if ((descriptorSectors + dataSectors) * SECTOR > length) {
      return null;
    }
    for (long j = 0; j < dataSectors; j++) {
      byte[] d = ring(pos + (descriptorSectors + j) * SECTOR, SECTOR);
      if (!Le.signature(d, 0, "data") || Le.u32(d, 4) != seq >>> 32
          || Le.u32(d, 4092) != (seq & 0xffffffffL)) {
        return null;
      }
    }
    CRC32C crc = new CRC32C();
    for (long done = 0; done < length; done += PIECE) {
      byte[] piece = ring(pos + done, (int) Math.min(PIECE, length - done));
      if (done == 0) {
        Le.put32(piece, 4, 0);
      }
      crc.update(piece);
    }
    if (crc.getValue() != Le.u32(h, 4)) {
      return null;
    }
    return new Entry(pos, length, tail, seq, (int) count, Le.u64(h, 48), Le.u64(h, 56));
  }

  /**
   * The active sequence, oldest entry first, by the algorithm of MS-VHDX 2.3.3.
   *
   * @throws CorruptDiskException if the log holds no valid sequence
   */
  List<Entry> activeSequence() throws IOException {
    List<Entry> best = null;
    long tail = 0;
    while (tail < logLength) {
      Entry first = entryAt(tail);
      if (first == null) {
        tail += SECTOR;
        continue;
      }
      List<Entry> sequence = new ArrayList<>();
      sequence.add(first);
      long total = first.length;
      long next = (first.pos + first.length) % logLength;
      while (true) {
        Entry e = entryAt(next);
        Entry last = sequence.get(sequence.size() - 1);
        if (e == null || e.sequence != last.sequence + 1 || total + e.length > logLength) {
          break;
        }
        sequence.add(e);
        total += e.length;
        next = (e.pos + e.length) % logLength;
      }
      Entry head = sequence.get(sequence.size() - 1);
      int tailIndex = -1;
      for (int i = 0; i < sequence.size(); i++) {
        if (sequence.get(i).pos == head.tail) {
          tailIndex = i;
        }
      }
      if (tailIndex >= 0) {
        if (best == null || head.sequence > best.get(best.size() - 1).sequence) {
          best = new ArrayList<>(sequence.subList(tailIndex, sequence.size()));
        }
        long end = first.pos + total;
        tail = end > tail ? Math.max(end, tail + SECTOR) : tail + SECTOR;
      } else {
        tail += SECTOR;
      }
    }
    if (best == null) {
      throw new CorruptDiskException(
          file, "log", logOffset,
          "the header names log GUID " + guid + " but the log holds no valid sequence of"
              + " entries with it");
    }
    return best;
  }

  /** Replays the sequence into {@code sink}, in order; returns the head's LastFileOffset. */
  long replay(List<Entry> sequence, Sink sink) throws IOException {
    Entry head = sequence.get(sequence.size() - 1);
    if (io.size() < head.flushedFileOffset) {
      throw new CorruptDiskException(
          file, "log entry " + head.sequence, logOffset + head.pos,
          "the file is " + io.size() + " bytes but the log says " + head.flushedFileOffset
              + " bytes were flushed; the file has been truncated");
    }
    if (head.lastFileOffset < 0 || head.lastFileOffset > MAX_TARGET) {
      throw new CorruptDiskException(
          file, "log entry " + head.sequence, logOffset + head.pos + 56,
          "the last file offset " + Long.toUnsignedString(head.lastFileOffset)
              + " lies beyond 4 PiB");
    }
    for (Entry e : sequence) {
      long descriptorSectors = (e.descriptors + 2L + 127) / 128;
      long dataIndex = 0;
      byte[] sector = null;
      long sectorIndex = -1;
      for (long i = 0; i < e.descriptors; i++) {
        long s = (i + 2) / 128;
        if (s != sectorIndex) {
          sector = ring(e.pos + s * SECTOR, SECTOR);
          sectorIndex = s;
        }
        int at = (int) ((i + 2) % 128) * 32;
        long target = Le.u64(sector, at + 16);
        boolean data = Le.signature(sector, at, "desc");
        long length = data ? SECTOR : Le.u64(sector, at + 8);
        if (target < MIN_TARGET || target > MAX_TARGET || length > MAX_TARGET) {
          throw new CorruptDiskException(
              file, "log entry " + e.sequence + " descriptor " + i, logOffset + e.pos,
              "the target range at file offset " + target + " of " + length
                  + " bytes touches the header section or lies beyond 4 PiB");
        }
        if (data) {
          byte[] d = ring(e.pos + (descriptorSectors + dataIndex++) * SECTOR, SECTOR);
          System.arraycopy(sector, at + 8, d, 0, 8);
          System.arraycopy(sector, at + 4, d, 4092, 4);
          sink.sector(target, d);
        } else {
          sink.zeros(target, length);
        }
      }
    }
    return head.lastFileOffset;
  }

  /**
   * Builds one entry that writes each 4 KiB sector of {@code updates} (file offset to content);
   * its tail is itself, because every earlier entry was applied and flushed before it.
   */
  static byte[] buildEntry(
      UUID guid, long sequence, long pos, Map<Long, byte[]> updates, long flushedFileOffset,
      long lastFileOffset) {
    int count = updates.size();
    int descriptorSectors = (count + 2 + 127) / 128;
    byte[] b = new byte[(descriptorSectors + count) * SECTOR];
    Le.putSignature(b, 0, "loge");
    Le.put32(b, 8, b.length);
    Le.put32(b, 12, pos);
    Le.put64(b, 16, sequence);
    Le.put32(b, 24, count);
    Le.putGuid(b, 32, guid);
    Le.put64(b, 48, flushedFileOffset);
    Le.put64(b, 56, lastFileOffset);
    int i = 0;
    for (Map.Entry<Long, byte[]> u : updates.entrySet()) {
      byte[] content = u.getValue();
      int at = (i + 2) / 128 * SECTOR + (i + 2) % 128 * 32;
      Le.putSignature(b, at, "desc");
      System.arraycopy(content, 4092, b, at + 4, 4);
      System.arraycopy(content, 0, b, at + 8, 8);
      Le.put64(b, at + 16, u.getKey());
      Le.put64(b, at + 24, sequence);
      int d = (descriptorSectors + i) * SECTOR;
      System.arraycopy(content, 0, b, d, SECTOR);
      Le.putSignature(b, d, "data");
      Le.put32(b, d + 4, sequence >>> 32);
      Le.put32(b, d + 4092, sequence);
      i++;
    }
    Le.put32(b, 4, Le.crc(b, 0, b.length, 4));
    return b;
  }

  /** How many 4 KiB updates fit in one entry of a log of {@code logLength} bytes. */
  static int maxUpdatesPerEntry(long logLength) {
    long sectors = logLength / SECTOR;
    long n = sectors - 1;
    while (n > 0 && (n + 2 + 127) / 128 + n > sectors) {
      n--;
    }
    return (int) Math.min(n, 1 << 16);
  }
}
