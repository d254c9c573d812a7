package io.replica.storage.vhdx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.longs;

import io.replica.spi.storage.DiskSpec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Round trips of the on-disk structures, and a differencing chain against a byte-array model. */
class VhdxStructureProperties {

  private static final int MIB = 1024 * 1024;
  private static final Path FILE = Path.of("property.vhdx");

  @TempDir Path dir;

  private static UUID guid(SplittableRandom r) {
    return new UUID(r.nextLong(), r.nextLong());
  }

  @Test
  void headersRoundTrip() {
    qt().withExamples(500).forAll(longs().all()).checkAssert(seed -> {
      SplittableRandom r = new SplittableRandom(seed);
      Header h = new Header(r.nextLong(), guid(r), guid(r), guid(r), 0, 1,
          r.nextLong(1, 4096) * MIB, r.nextLong(1, 1 << 20) * MIB);
      try {
        assertEquals(h, Header.parse(FILE, h.encode(), Header.OFFSET_1, "header 1"));
      } catch (CorruptDiskException e) {
        throw new AssertionError(e);
      }
      byte[] bad = h.encode();
      bad[r.nextInt(Header.SIZE)] ^= (byte) (1 << r.nextInt(8));
      assertThrows(CorruptDiskException.class,
          () -> Header.parse(FILE, bad, Header.OFFSET_1, "header 1"));
    });
  }

  @Test
  void regionTablesRoundTrip() {
    qt().withExamples(300).forAll(longs().all()).checkAssert(seed -> {
      SplittableRandom r = new SplittableRandom(seed);
      List<RegionTable.Entry> entries = new ArrayList<>();
      entries.add(new RegionTable.Entry(RegionTable.BAT, MIB, r.nextLong(1, 600) * MIB, true));
      entries.add(new RegionTable.Entry(RegionTable.METADATA, 1000L * MIB, MIB, r.nextBoolean()));
      long at = 2000L * MIB;
      for (int i = r.nextInt(5); i > 0; i--) {
        long length = r.nextLong(1, 10) * MIB;
        entries.add(new RegionTable.Entry(guid(r), at, length, false));
        at += length + r.nextLong(3) * MIB;
      }
      RegionTable t = new RegionTable(entries);
      try {
        assertEquals(t, RegionTable.parse(FILE, t.encode(), RegionTable.OFFSET_1, "rt"));
      } catch (CorruptDiskException e) {
        throw new AssertionError(e);
      }
    });
  }

  @Test
  void parentLocatorsRoundTrip() {
    qt().withExamples(300).forAll(longs().all()).checkAssert(seed -> {
      SplittableRandom r = new SplittableRandom(seed);
      Map<String, String> kv = new LinkedHashMap<>();
      kv.put("parent_linkage", ParentLocator.linkage(guid(r)));
      kv.put("relative_path", "..\\d" + r.nextInt(1000) + "\\p\u00e9re.vhdx");
      for (int i = r.nextInt(4); i > 0; i--) {
        kv.put("key" + r.nextInt(100), "v".repeat(r.nextInt(1, 300)));
      }
      ParentLocator l = new ParentLocator(ParentLocator.VHDX_TYPE, kv);
      try {
        assertEquals(l.entries(), ParentLocator.parse(FILE, l.encode(), 0).entries());
      } catch (CorruptDiskException e) {
        throw new AssertionError(e);
      }
    });
  }

  @Test
  void parentPathsLeadBackToTheParent() {
    Path base = Path.of(System.getProperty("java.io.tmpdir")).toAbsolutePath();
    qt().withExamples(300).forAll(longs().all()).checkAssert(seed -> {
      SplittableRandom r = new SplittableRandom(seed);
      Path child = base.resolve(folders(r)).resolve("c.avhdx");
      Path parent = base.resolve(folders(r)).resolve("p\u00e8re " + r.nextInt(100) + ".vhdx");
      Map<String, String> kv = ParentPaths.of(child, parent);
      assertEquals(ParentPaths.KEYS, new ArrayList<>(kv.keySet()));
      for (String key : ParentPaths.KEYS) {
        assertEquals(parent.normalize(), ParentPaths.resolve(child, key, kv.get(key)), key);
      }
    });
  }

  private static String folders(SplittableRandom r) {
    StringBuilder b = new StringBuilder(".");
    for (int i = r.nextInt(4); i > 0; i--) {
      b.append('/').append(r.nextBoolean() ? ".." : "d" + r.nextInt(3));
    }
    return b.toString();
  }

  @Test
  void logEntriesAreFoundReplayedAndRejectedWhenDamaged() throws IOException {
    Path file = dir.resolve("log.bin");
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE,
        StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      FileIo io = new FileIo(file, ch);
      qt().withExamples(60).forAll(longs().all()).checkAssert(seed -> {
        try {
          SplittableRandom r = new SplittableRandom(seed);
          UUID logGuid = guid(r);
          Header h = new Header(1, guid(r), guid(r), logGuid, 0, 1, 2L * MIB, MIB);
          ch.truncate(0);
          ch.write(ByteBuffer.allocate(1), 4L * MIB - 1);
          TreeMap<Long, byte[]> updates = new TreeMap<>();
          for (int i = r.nextInt(1, 300); i > 0; i--) {
            byte[] sector = new byte[4096];
            r.nextBytes(sector);
            updates.put(r.nextLong(48, 100_000) * 4096, sector);
          }
          long pos = r.nextLong(0, 2L * MIB / 4096 - 300) * 4096;
          long seq = r.nextLong(1, Long.MAX_VALUE);
          byte[] entry = Log.buildEntry(logGuid, seq, pos, updates, 0, 4L * MIB);
          if (pos + entry.length > 2L * MIB) {
            pos = 0;
            entry = Log.buildEntry(logGuid, seq, pos, updates, 0, 4L * MIB);
          }
          io.write(MIB + pos, entry);
          Log log = new Log(io, h);
          List<Log.Entry> sequence = log.activeSequence();
          assertEquals(1, sequence.size());
          assertEquals(seq, sequence.get(0).sequence());
          Map<Long, byte[]> replayed = new TreeMap<>();
          log.replay(sequence, new Log.Sink() {
            @Override
            public void sector(long fileOffset, byte[] sector) {
              replayed.put(fileOffset, sector);
            }

            @Override
            public void zeros(long fileOffset, long length) {
              throw new AssertionError("no zero descriptors were written");
            }
          });
          assertEquals(updates.keySet(), replayed.keySet());
          for (Long k : updates.keySet()) {
            assertArrayEquals(updates.get(k), replayed.get(k));
          }
          // Any damaged byte invalidates the entry; a log with no valid entry is refused.
          int at = r.nextInt(entry.length);
          byte[] damaged = entry.clone();
          damaged[at] ^= (byte) (1 << r.nextInt(8));
          io.write(MIB + pos, damaged);
          assertNull(log.entryAt(pos), "damaged at byte " + at);
          assertThrows(CorruptDiskException.class, log::activeSequence);
        } catch (IOException e) {
          throw new AssertionError(e);
        }
      });
    }
  }

  @Test
  void aChainOfChildrenReadsLikeItsModel() {
    qt().withExamples(25).forAll(longs().all()).checkAssert(seed -> {
      try {
        SplittableRandom r = new SplittableRandom(seed);
        int sector = r.nextBoolean() ? 512 : 4096;
        long size = (r.nextLong(4, 12) * MIB) + r.nextInt(8) * (long) sector;
        byte[] model = new byte[(int) size];
        Path folder = Files.createTempDirectory(dir, "chain");
        Path previous = folder.resolve("base.vhdx");
        VhdxDisk.create(previous, new DiskSpec(size, sector, 4096, r.nextBoolean()), MIB)
            .close();
        for (int level = 0; level < 3; level++) {
          Path child = folder.resolve("c" + level + ".avhdx");
          VhdxDisk disk = level == 0 && r.nextBoolean() ? VhdxDisk.open(previous, false)
              : VhdxDisk.createChild(child, previous);
          try (disk) {
            for (int i = r.nextInt(1, 12); i > 0; i--) {
              long sectors = r.nextLong(1, 3L * MIB / sector);
              long offset = r.nextLong(0, size / sector - sectors + 1) * sector;
              int length = (int) (sectors * sector);
              if (r.nextInt(4) == 0) {
                disk.trim(offset, length);
                Arrays.fill(model, (int) offset, (int) offset + length, (byte) 0);
              } else {
                byte[] data = Tools.pattern(r.nextLong(), length);
                disk.write(offset, ByteBuffer.wrap(data));
                System.arraycopy(data, 0, model, (int) offset, length);
              }
            }
            disk.flush();
            ByteBuffer all = ByteBuffer.allocate((int) size);
            disk.read(0, all);
            assertArrayEquals(model, all.array(), "seed " + seed + " level " + level);
          }
          previous = disk.chain().get(0);
        }
        try (VhdxDisk reopened = VhdxDisk.open(previous, true)) {
          ByteBuffer all = ByteBuffer.allocate((int) size);
          reopened.read(0, all);
          assertArrayEquals(model, all.array(), "seed " + seed + " after reopen");
        }
        VhdxDisk.mergeIntoParent(previous);
        Path merged;
        try (VhdxDisk child = VhdxDisk.open(previous, true)) {
          merged = child.parentPath().orElseThrow();
        }
        try (VhdxDisk parent = VhdxDisk.open(merged, true)) {
          ByteBuffer all = ByteBuffer.allocate((int) size);
          parent.read(0, all);
          assertArrayEquals(model, all.array(), "seed " + seed + " after merge");
        }
      } catch (IOException e) {
        throw new AssertionError(e);
      }
    });
  }
}
