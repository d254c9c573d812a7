package io.replica.storage.vhdx;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.Objects;

/**
 * Checks a VHDX file's structure and checksums without changing it: both headers, both region
 * tables, the log state, the metadata, every BAT entry (state, location inside the file, no
 * overlap with the log, the regions or another block) and the parent chain.
 *
 * <p>It exists for {@code replica disk check} and for operators who want to know whether a
 * replica disk is sound before failing over to it. Opening a disk already refuses corrupt files;
 * this also reports damage that a normal open tolerates, such as one bad header or one bad region
 * table copy.
 */
public final class VhdxCheck {

  private VhdxCheck() {}

  /**
   * Returns one line per problem, empty when the file is sound.
   *
   * @throws java.nio.file.NoSuchFileException if the file does not exist
   * @throws IOException if the file cannot be read
   */
  public static List<String> check(Path file) throws IOException {
    Objects.requireNonNull(file, "file");
    List<String> problems = new ArrayList<>();
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      FileIo io = new FileIo(file, ch);
      long size = io.size();
      if (size < 320L * Le.KIB || !Le.signature(io.read(0, 8), 0, "vhdxfile")) {
        problems.add("file type identifier at offset 0: not a VHDX file (no 'vhdxfile' signature"
            + " or shorter than the header section)");
        return problems;
      }
      for (int slot = 0; slot < 2; slot++) {
        try {
          Header.parse(file, io.read(Header.offsetOf(slot), Header.SIZE), Header.offsetOf(slot),
              "header " + (slot + 1));
        } catch (CorruptDiskException e) {
          problems.add(e.structure() + " at offset " + e.fileOffset() + ": " + reason(e));
        }
      }
      byte[][] tables = new byte[2][];
      long[] offsets = {RegionTable.OFFSET_1, RegionTable.OFFSET_2};
      for (int i = 0; i < 2; i++) {
        tables[i] = io.read(offsets[i], RegionTable.SIZE);
        try {
          RegionTable.parse(file, tables[i], offsets[i], "region table " + (i + 1));
        } catch (CorruptDiskException e) {
          problems.add(e.structure() + " at offset " + e.fileOffset() + ": " + reason(e));
        }
      }
      if (problems.isEmpty() && !Arrays.equals(tables[0], tables[1])) {
        problems.add("region table 2 at offset " + RegionTable.OFFSET_2
            + ": differs from region table 1");
      }
    }
    VhdxFile f;
    try {
      f = VhdxFile.open(file, false, false);
    } catch (CorruptDiskException e) {
      problems.add(e.structure() + " at offset " + e.fileOffset() + ": " + reason(e));
      return problems;
    } catch (IOException e) {
      problems.add("cannot open: " + e.getMessage());
      return problems;
    }
    try (f) {
      if (!f.header().logEmpty()) {
        problems.add("log at offset " + f.header().logOffsetBytes() + ": it holds updates that"
            + " were not applied (a crash); opening the file writable replays them");
      }
      checkBat(f, problems);
    }
    return problems;
  }

  private static void checkBat(VhdxFile f, List<String> problems) throws IOException {
    Metadata m = f.metadata();
    long fileSize = f.io.size();
    RegionTable.Entry batRegion = f.regions().find(RegionTable.BAT);
    Bat bat = new Bat(f.io, batRegion.fileOffset(), batRegion.length(), 64);
    long mib = Le.MIB;
    BitSet used = new BitSet();
    markUsed(used, 0, mib);
    Header h = f.header();
    markUsed(used, h.logOffsetBytes(), h.logLengthBytes());
    for (RegionTable.Entry e : f.regions().entries()) {
      markUsed(used, e.fileOffset(), e.length());
    }
    int cr = m.chunkRatio();
    long entries = m.batEntries();
    int reported = 0;
    for (long i = 0; i < entries && reported < 100; i++) {
      long e = bat.get(i);
      int state = Bat.state(e);
      long off = Bat.offset(e);
      boolean bitmap = i % (cr + 1) == cr;
      String where = "BAT entry " + i + " at offset " + bat.entryOffset(i) + ": ";
      long length;
      if (bitmap) {
        if (state == 0) {
          continue;
        }
        if (state != Bat.SB_PRESENT || !m.hasParent()) {
          problems.add(where + "sector bitmap state " + state + " is not allowed here");
          reported++;
          continue;
        }
        length = mib;
      } else {
        if (state == Bat.FULLY_PRESENT || state == Bat.PARTIALLY_PRESENT) {
          if (state == Bat.PARTIALLY_PRESENT && !m.hasParent()) {
            problems.add(where + "PARTIALLY_PRESENT in a file without a parent");
            reported++;
            continue;
          }
          length = m.blockSizeBytes();
        } else if (state <= 3 || state == 5) {
          continue;
        } else {
          problems.add(where + "reserved payload state " + state);
          reported++;
          continue;
        }
      }
      if (off < mib) {
        problems.add(where + "points into the header section (offset " + off + ")");
        reported++;
      } else if (off >= fileSize) {
        problems.add(where + "points at offset " + off + ", after the end of the file ("
            + fileSize + " bytes); the file was probably truncated");
        reported++;
      } else {
        long first = off / mib;
        long count = (length + mib - 1) / mib;
        if (first + count > Integer.MAX_VALUE) {
          problems.add(where + "points beyond any plausible file size");
          reported++;
        } else if (used.nextSetBit((int) first) >= 0
            && used.nextSetBit((int) first) < first + count) {
          problems.add(where + "the block at offset " + off
              + " overlaps the log, a region or another block");
          reported++;
        } else {
          used.set((int) first, (int) (first + count));
        }
      }
    }
    if (reported >= 100) {
      problems.add("more BAT problems not listed");
    }
  }

  private static void markUsed(BitSet used, long offset, long length) {
    long mib = Le.MIB;
    long first = offset / mib;
    long last = (offset + length + mib - 1) / mib;
    if (last < Integer.MAX_VALUE) {
      used.set((int) first, (int) last);
    }
  }

  private static String reason(CorruptDiskException e) {
    String m = e.getMessage();
    int at = m.indexOf(": ", m.indexOf(" at file offset "));
    int end = m.lastIndexOf(" (the file cannot be used");
    return at >= 0 && end > at ? m.substring(at + 2, end) : m;
  }
}
