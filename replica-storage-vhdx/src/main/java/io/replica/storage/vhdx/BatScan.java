package io.replica.storage.vhdx;

import java.io.IOException;
import java.util.BitSet;

/**
 * The rules every BAT entry must keep, in one place so that opening a file and {@code replica disk
 * check} judge entries alike: no reserved bits, a state allowed at that position, and for blocks
 * with data a location after the header section, inside the file, overlapping nothing else.
 *
 * <p>A block must hold its whole payload inside the file: the block size, or less for the last
 * block of a disk whose size is not a multiple of the block size (qemu used to write files that
 * end right after that part, and its own open check allows it).
 *
 * <p>Bits 3 to 19 of an entry are reserved by MS-VHDX (section 2.5.1). qemu composes every entry
 * it writes as a 1 MiB-aligned offset or'ed with a 3-bit state (block/vhdx.c,
 * vhdx_update_bat_table_entry and vhdx_create_bat), and no writer is known to set them, so an
 * entry with any of them set is damage, not a dialect.
 */
final class BatScan {

  /** Bits 3 to 19: reserved, zero in every file a known writer made. */
  static final long RESERVED_BITS = 0xFFFF8L;

  /** Receives problems; returns false to stop the scan. */
  interface Sink {
    boolean problem(long index, String problem) throws IOException;
  }

  private BatScan() {}

  /**
   * Checks entries {@code 0 .. m.batEntries()} of the BAT at {@code batOffset}, reading it in
   * 1 MiB pieces; {@code fileLength} is the file's length after the log is applied.
   */
  static void scan(FileIo io, long batOffset, Metadata m, Header h, RegionTable regions,
      long fileLength, Sink sink) throws IOException {
    long mib = Le.MIB;
    BitSet used = new BitSet();
    markUsed(used, 0, mib);
    markUsed(used, h.logOffsetBytes(), h.logLengthBytes());
    for (RegionTable.Entry e : regions.entries()) {
      markUsed(used, e.fileOffset(), e.length());
    }
    int cr = m.chunkRatio();
    long bs = m.blockSizeBytes();
    long entries = m.batEntries();
    byte[] piece = null;
    long pieceStart = -1;
    for (long i = 0; i < entries; i++) {
      long at = i * 8;
      if (piece == null || at >= pieceStart + piece.length) {
        pieceStart = at;
        piece = io.read(batOffset + at, (int) Math.min(mib, entries * 8 - at));
      }
      long e = Le.u64(piece, (int) (at - pieceStart));
      String problem = problem(e, i, cr, bs, m, fileLength, used);
      if (problem != null && !sink.problem(i, problem)) {
        return;
      }
    }
  }

  private static String problem(long e, long i, int cr, long bs, Metadata m, long fileLength,
      BitSet used) {
    if ((e & RESERVED_BITS) != 0) {
      return "reserved bits are set (entry 0x" + Long.toHexString(e)
          + "; bits 3 to 19 must be zero)";
    }
    int state = Bat.state(e);
    long length;
    if (i % (cr + 1) == cr) {
      if (state == 0) {
        return null;
      }
      if (state != Bat.SB_PRESENT || !m.hasParent()) {
        return "sector bitmap state " + state + " is not allowed here";
      }
      length = Le.MIB;
    } else if (state == Bat.FULLY_PRESENT || state == Bat.PARTIALLY_PRESENT) {
      if (state == Bat.PARTIALLY_PRESENT && !m.hasParent()) {
        return "PARTIALLY_PRESENT in a file without a parent";
      }
      long block = i - i / (cr + 1);
      // A differencing file's BAT ends on a whole chunk, with entries past the last block.
      length = block < m.dataBlocks() ? Math.min(bs, m.virtualSizeBytes() - block * bs) : bs;
    } else if (state <= 3 || state == 5) {
      return null;
    } else {
      return "reserved payload state " + state;
    }
    long off = Bat.offset(e);
    if (off < Le.MIB) {
      return "points into the header section (offset " + off + ")";
    }
    if (off >= fileLength) {
      return "points at offset " + off + ", after the end of the file (" + fileLength
          + " bytes); the file was probably truncated";
    }
    if (off + length > fileLength) {
      return "the " + length + " bytes at offset " + off + " end after the end of the file ("
          + fileLength + " bytes); the file was probably truncated";
    }
    long first = off / Le.MIB;
    long end = (off + length + Le.MIB - 1) / Le.MIB;
    if (end > Integer.MAX_VALUE) {
      return "points beyond any plausible file size";
    }
    int clash = used.nextSetBit((int) first);
    if (clash >= 0 && clash < end) {
      return "the block at offset " + off + " overlaps the log, a region or another block";
    }
    used.set((int) first, (int) end);
    return null;
  }

  private static void markUsed(BitSet used, long offset, long length) {
    long mib = Le.MIB;
    long first = offset / mib;
    long last = (offset + length + mib - 1) / mib;
    if (last < Integer.MAX_VALUE) {
      used.set((int) first, (int) last);
    }
  }
}
