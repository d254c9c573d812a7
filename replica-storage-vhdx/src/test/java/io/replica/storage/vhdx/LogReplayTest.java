package io.replica.storage.vhdx;

import static io.replica.storage.vhdx.Tools.pattern;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replica.spi.storage.DiskSpec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.TreeMap;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Files whose log needs replay, built from the spec's structures (qemu never leaves one), and files
 * whose current header is damaged.
 */
class LogReplayTest {

  private static final int MIB = 1024 * 1024;

  @TempDir Path dir;

  /**
   * A 4 MiB dynamic file with 1 MiB blocks where block 0 holds data; then block 2 gets data in
   * the payload area and the BAT change that makes it visible only in the log, beside stale
   * entries of another LogGuid with higher sequence numbers.
   */
  private Path dirtyFile(int sectorSize) throws IOException {
    Path file = dir.resolve("dirty-" + sectorSize + ".vhdx");
    try (VhdxDisk disk =
        VhdxDisk.create(file, new DiskSpec(4L * MIB, sectorSize, 4096, false), MIB)) {
      disk.write(0, ByteBuffer.wrap(pattern(1, 8192)));
      disk.flush();
    }
    try (FileChannel ch =
        FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      FileIo io = new FileIo(file, ch);
      Header h = Header.parse(file, io.read(Header.OFFSET_2, 4096), Header.OFFSET_2, "header 2");
      RegionTable rt = RegionTable.parse(file, io.read(RegionTable.OFFSET_1, RegionTable.SIZE),
          RegionTable.OFFSET_1, "region table 1");
      long batOffset = rt.find(RegionTable.BAT).fileOffset();
      long blockAt = VhdxFile.roundUp(ch.size(), MIB);
      io.write(blockAt, pattern(2, MIB));
      byte[] batPage = io.read(batOffset, 4096);
      Le.put64(batPage, 2 * 8, blockAt | 6);
      TreeMap<Long, byte[]> updates = new TreeMap<>();
      updates.put(batOffset, batPage);
      UUID guid = UUID.randomUUID();
      // Stale entries of another GUID, with higher sequence numbers, that would zero block 0.
      byte[] staleBat = batPage.clone();
      Le.put64(staleBat, 0, 2);
      TreeMap<Long, byte[]> stale = new TreeMap<>();
      stale.put(batOffset, staleBat);
      long logOffset = h.logOffsetBytes();
      io.write(logOffset, Log.buildEntry(UUID.randomUUID(), 1000, 0, stale, 0, blockAt + MIB));
      // The real sequence: two entries, the second repeating the first's update.
      io.write(logOffset + 2 * 4096, Log.buildEntry(guid, 7, 2 * 4096, updates, 0, blockAt + MIB));
      io.write(logOffset + 4 * 4096, Log.buildEntry(guid, 8, 2 * 4096, updates, 0, blockAt + MIB));
      byte[] next = h.next(h.fileWriteGuid(), h.dataWriteGuid(), guid).encode();
      io.write(Header.OFFSET_1, next);
      io.force();
    }
    return file;
  }

  @Test
  void readOnlyOpenReplaysInMemoryAndWritesNothing() throws IOException {
    for (int sector : new int[] {512, 4096}) {
      Path file = dirtyFile(sector);
      byte[] before = Files.readAllBytes(file);
      try (VhdxDisk disk = VhdxDisk.open(file, true)) {
        assertEquals(sector, disk.logicalSectorSizeBytes());
        ByteBuffer block2 = ByteBuffer.allocate(MIB);
        disk.read(2L * MIB, block2);
        assertArrayEquals(pattern(2, MIB), block2.array(), "block 2 comes from the log");
        ByteBuffer block0 = ByteBuffer.allocate(8192);
        disk.read(0, block0);
        assertArrayEquals(pattern(1, 8192), block0.array(), "stale entries must be ignored");
      }
      assertArrayEquals(before, Files.readAllBytes(file), "a read-only open must write nothing");
    }
  }

  @Test
  void writableOpenReplaysIntoTheFileAndClearsTheLogGuid() throws Exception {
    Path file = dirtyFile(512);
    try (VhdxDisk disk = VhdxDisk.open(file, false)) {
      ByteBuffer block2 = ByteBuffer.allocate(MIB);
      disk.read(2L * MIB, block2);
      assertArrayEquals(pattern(2, MIB), block2.array());
      assertTrue(disk.file().header().logEmpty(), "the log must be empty after replay");
    }
    try (VhdxDisk disk = VhdxDisk.open(file, true)) {
      ByteBuffer block2 = ByteBuffer.allocate(MIB);
      disk.read(2L * MIB, block2);
      assertArrayEquals(pattern(2, MIB), block2.array());
      assertTrue(disk.file().header().logEmpty());
    }
    if (Tools.available("qemu-img")) {
      Tools.ok("qemu-img", "check", file.toString());
      Path raw = dir.resolve("replayed.raw");
      Tools.ok("qemu-img", "convert", "-O", "raw", file.toString(), raw.toString());
      try (VhdxDisk disk = VhdxDisk.open(file, true)) {
        Tools.assertSameAsRaw(disk, raw);
      }
    }
  }

  @Test
  void aLogGuidWithoutValidEntriesIsRefused() throws IOException {
    Path file = dir.resolve("nolog.vhdx");
    VhdxDisk.create(file, DiskSpec.dynamic(4L * MIB), MIB).close();
    try (FileChannel ch =
        FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      FileIo io = new FileIo(file, ch);
      Header h = Header.parse(file, io.read(Header.OFFSET_2, 4096), Header.OFFSET_2, "header 2");
      io.write(Header.OFFSET_1, h.next(h.fileWriteGuid(), h.dataWriteGuid(), UUID.randomUUID())
          .encode());
    }
    CorruptDiskException e =
        assertThrows(CorruptDiskException.class, () -> VhdxDisk.open(file, true));
    assertEquals("log", e.structure());
  }

  @Test
  void aCorruptCurrentHeaderFallsBackToTheOtherOne() throws IOException {
    Path file = dir.resolve("hdr.vhdx");
    try (VhdxDisk disk = VhdxDisk.create(file, DiskSpec.dynamic(4L * MIB), MIB)) {
      disk.write(MIB, ByteBuffer.wrap(pattern(5, 4096)));
    }
    byte[] bytes = Files.readAllBytes(file);
    long seq1 = Le.u64(bytes, (int) Header.OFFSET_1 + 8);
    long seq2 = Le.u64(bytes, (int) Header.OFFSET_2 + 8);
    long current = seq1 > seq2 ? Header.OFFSET_1 : Header.OFFSET_2;
    bytes[(int) current + 100] ^= 1;
    Files.write(file, bytes);
    try (VhdxDisk disk = VhdxDisk.open(file, true)) {
      ByteBuffer b = ByteBuffer.allocate(4096);
      disk.read(MIB, b);
      assertArrayEquals(pattern(5, 4096), b.array());
    }
    // Both bad: refused, naming a header.
    long other = current == Header.OFFSET_1 ? Header.OFFSET_2 : Header.OFFSET_1;
    bytes[(int) other] = 'x';
    Files.write(file, bytes);
    CorruptDiskException e =
        assertThrows(CorruptDiskException.class, () -> VhdxDisk.open(file, true));
    assertTrue(e.structure().startsWith("header"), e.getMessage());
  }
}
