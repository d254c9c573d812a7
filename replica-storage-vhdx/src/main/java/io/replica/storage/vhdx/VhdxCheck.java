package io.replica.storage.vhdx;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
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
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      return check(file, ch);
    }
  }

  /** Checks the file {@code file} read through {@code ch}; tests pass an in-memory copy. */
  static List<String> check(Path file, FileChannel ch) throws IOException {
    List<String> problems = new ArrayList<>();
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
    VhdxFile f;
    try {
      // Without the open's own BAT scan, so that every BAT problem is listed, not the first.
      f = VhdxFile.openUnscanned(file, ch);
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
    RegionTable.Entry batRegion = f.regions().find(RegionTable.BAT);
    int[] reported = {0};
    BatScan.scan(f.io, batRegion.fileOffset(), f.metadata(), f.header(), f.regions(),
        f.io.length(), (index, problem) -> {
          if (reported[0] == 100) {
            problems.add("more BAT problems not listed");
            return false;
          }
          problems.add("BAT entry " + index + " at offset " + (batRegion.fileOffset() + index * 8)
              + ": " + problem);
          reported[0]++;
          return true;
        });
  }

  private static String reason(CorruptDiskException e) {
    String m = e.getMessage();
    int at = m.indexOf(": ", m.indexOf(" at file offset "));
    int end = m.lastIndexOf(" (the file cannot be used");
    return at >= 0 && end > at ? m.substring(at + 2, end) : m;
  }
}
