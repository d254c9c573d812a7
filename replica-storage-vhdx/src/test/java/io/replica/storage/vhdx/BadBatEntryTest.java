package io.replica.storage.vhdx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replica.spi.storage.DiskSpec;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * BAT entries that point past the end of the file or have reserved bits set: opening refuses
 * them, a read through an open that skipped the scan refuses them, and {@code disk check} lists
 * them, each naming the entry.
 */
class BadBatEntryTest {

  private static final int MIB = 1024 * 1024;

  @TempDir Path dir;

  private long batOffset;
  private long fileLength;

  /** A 4 MiB dynamic disk with 1 MiB blocks, blocks 0 and 2 written. */
  private Path sample() throws Exception {
    Path file = dir.resolve("disk.vhdx");
    try (VhdxDisk d = VhdxDisk.create(file, new DiskSpec(4L * MIB, 512, 4096, false), MIB)) {
      d.write(0, ByteBuffer.wrap(Tools.pattern(1, 4096)));
      d.write(2L * MIB, ByteBuffer.wrap(Tools.pattern(2, 4096)));
    }
    try (VhdxDisk d = VhdxDisk.open(file, true)) {
      batOffset = d.file().regions().find(RegionTable.BAT).fileOffset();
    }
    fileLength = Files.size(file);
    return file;
  }

  private static long entry(Path file, long at) throws Exception {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      byte[] b = new byte[8];
      ch.read(ByteBuffer.wrap(b), at);
      return Le.u64(b, 0);
    }
  }

  private static void setEntry(Path file, long at, long value) throws Exception {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      byte[] b = new byte[8];
      Le.put64(b, 0, value);
      ch.write(ByteBuffer.wrap(b), at);
    }
  }

  private static void assertNamesEntry(CorruptDiskException e, long index, long entryOffset,
      String... words) {
    assertEquals("BAT entry " + index, e.structure(), e::getMessage);
    assertEquals(entryOffset, e.fileOffset(), e::getMessage);
    for (String w : words) {
      assertTrue(e.getMessage().contains(w), () -> "'" + w + "' missing in " + e.getMessage());
    }
  }

  @Test
  void blockPastTheEndOfTheFileIsRefusedByOpenReadAndCheck() throws Exception {
    Path file = sample();
    long at = batOffset + 8 * 2;
    long past = (fileLength + 8L * MIB) & ~(MIB - 1L);
    setEntry(file, at, past | Bat.FULLY_PRESENT);

    CorruptDiskException open =
        assertThrows(CorruptDiskException.class, () -> VhdxDisk.open(file, true).close());
    assertNamesEntry(open, 2, at, "offset " + past, fileLength + " bytes");

    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
        VhdxFile f = VhdxFile.openUnscanned(file, ch)) {
      CorruptDiskException read = assertThrows(CorruptDiskException.class,
          () -> f.read(2L * MIB, ByteBuffer.allocate(4096)));
      assertNamesEntry(read, 2, at, "block 2", "offset " + past, fileLength + "-byte file");
      // The other blocks still read.
      f.read(0, ByteBuffer.allocate(4096));
    }

    List<String> problems = VhdxCheck.check(file);
    assertEquals(1, problems.size(), problems::toString);
    assertTrue(problems.get(0).startsWith("BAT entry 2 at offset " + at), problems::toString);
  }

  @Test
  void blockThatEndsPastTheEndOfTheFileIsRefused() throws Exception {
    Path file = sample();
    long at = batOffset + 8 * 2;
    // The last block starts inside the file, so only its end is missing.
    long last = (fileLength - 1) & ~(MIB - 1L);
    setEntry(file, batOffset + 8 * 2, last | Bat.FULLY_PRESENT);
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ch.truncate(last + MIB / 2);
    }
    long length = Files.size(file);
    CorruptDiskException open =
        assertThrows(CorruptDiskException.class, () -> VhdxDisk.open(file, true).close());
    assertNamesEntry(open, 2, at, "end after the end of the file (" + length + " bytes)");
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
        VhdxFile f = VhdxFile.openUnscanned(file, ch)) {
      assertThrows(CorruptDiskException.class, () -> f.read(2L * MIB, ByteBuffer.allocate(512)));
    }
    assertTrue(VhdxCheck.check(file).get(0).contains("end after the end of the file"));
  }

  @Test
  void reservedBitsAreRefusedByOpenReadAndCheck() throws Exception {
    for (int bit = 3; bit < 20; bit++) {
      Path file = sample();
      long at = batOffset + 8 * 2;
      long good = entry(file, at);
      setEntry(file, at, good | 1L << bit);

      CorruptDiskException open =
          assertThrows(CorruptDiskException.class, () -> VhdxDisk.open(file, true).close());
      assertNamesEntry(open, 2, at, "reserved bits");

      try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
          VhdxFile f = VhdxFile.openUnscanned(file, ch)) {
        CorruptDiskException read = assertThrows(CorruptDiskException.class,
            () -> f.read(2L * MIB, ByteBuffer.allocate(512)));
        assertNamesEntry(read, 2, at, "reserved bits", Long.toHexString(good | 1L << bit));
      }
      List<String> problems = VhdxCheck.check(file);
      assertEquals(1, problems.size(), problems::toString);
      assertTrue(problems.get(0).contains("reserved bits"), problems::toString);
      Files.delete(file);
    }
  }

  @Test
  void reservedBitsInAnEntryWithoutDataAreRefusedToo() throws Exception {
    Path file = sample();
    long at = batOffset + 8;
    setEntry(file, at, Bat.ZERO | 1L << 19);
    CorruptDiskException open =
        assertThrows(CorruptDiskException.class, () -> VhdxDisk.open(file, false).close());
    assertNamesEntry(open, 1, at, "reserved bits");
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
        VhdxFile f = VhdxFile.openUnscanned(file, ch)) {
      assertThrows(CorruptDiskException.class, () -> f.read(MIB, ByteBuffer.allocate(512)));
    }
  }

  @Test
  void aBatPastTheEndOfTheFileIsRefused() throws Exception {
    Path file = sample();
    byte[] table;
    try (VhdxDisk d = VhdxDisk.open(file, true)) {
      RegionTable regions = d.file().regions();
      RegionTable.Entry bat = regions.find(RegionTable.BAT);
      long past = (fileLength + 16L * MIB) & ~(MIB - 1L);
      table = regions.with(new RegionTable.Entry(RegionTable.BAT, past, bat.length(),
          bat.required())).encode();
    }
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ch.write(ByteBuffer.wrap(table), RegionTable.OFFSET_1);
      ch.write(ByteBuffer.wrap(table), RegionTable.OFFSET_2);
    }
    CorruptDiskException e =
        assertThrows(CorruptDiskException.class, () -> VhdxDisk.open(file, true).close());
    assertTrue(e.getMessage().contains("the file ends at " + fileLength), e.getMessage());
    List<String> problems = VhdxCheck.check(file);
    assertEquals(1, problems.size(), problems::toString);
    assertTrue(problems.get(0).startsWith("region table at offset"), problems::toString);
  }

  @Test
  void qemuFilesHaveNoReservedBits() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(Tools.available("qemu-img"));
    for (String options : new String[] {"subformat=dynamic", "subformat=fixed",
        "subformat=fixed,block_state_zero=off", "subformat=dynamic,block_state_zero=off"}) {
      Path file = dir.resolve(options.replace(',', '_').replace('=', '-') + ".vhdx");
      Tools.ok("qemu-img", "create", "-q", "-f", "vhdx", "-o", options + ",block_size=1M",
          file.toString(), "6M");
      Tools.ok("qemu-io", "-f", "vhdx", "-c", "write -P 0x5a 1M 4k", "-c",
          "write -P 0x5b 4M 1M", file.toString());
      try (VhdxDisk d = VhdxDisk.open(file, true)) {
        long bat = d.file().regions().find(RegionTable.BAT).fileOffset();
        for (long i = 0; i < d.file().metadata().batEntries(); i++) {
          long e = entry(file, bat + 8 * i);
          assertEquals(0, e & BatScan.RESERVED_BITS, options + ": entry " + i);
        }
        d.read(0, ByteBuffer.allocate(6 * MIB));
      }
      assertEquals(List.of(), VhdxCheck.check(file), options);
    }
  }
}
