package io.replica.storage.vhdx;

import static io.replica.storage.vhdx.Tools.ok;
import static io.replica.storage.vhdx.Tools.pattern;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.replica.spi.storage.ByteRange;
import io.replica.spi.storage.DiskSpec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Files made by qemu read byte-exact; files we make pass qemu-img check and compare. */
class QemuInteropTest {

  private static final long MIB = 1024 * 1024;

  @TempDir Path dir;

  @BeforeAll
  static void needsQemu() {
    assumeTrue(Tools.available("qemu-img") && Tools.available("qemu-io"),
        "qemu-img / qemu-io are not installed (CI installs qemu-utils)");
  }

  @ParameterizedTest(name = "{0} block {1}M size {2} {3}")
  @CsvSource({
    "dynamic, 1, 70M, on",
    "dynamic, 32, 70M, on",
    "dynamic, 256, 300M, on",
    "dynamic, 1, 10000896, off",
    "fixed, 1, 20M, on",
    "fixed, 1, 20M, off",
    "fixed, 32, 40M, off",
  })
  void readsQemuFilesWrittenOverSeveralSessions(
      String subformat, int blockMiB, String size, String zeroState) throws Exception {
    Path vhdx = dir.resolve("q.vhdx");
    ok("qemu-img", "create", "-q", "-f", "vhdx", "-o",
        "subformat=" + subformat + ",block_size=" + blockMiB + "M,block_state_zero=" + zeroState,
        vhdx.toString(), size);
    // Several sessions, so the log holds stale entries of other LogGuids.
    String[] writes = {
      "write -P 0x11 0 64k", "write -P 0x22 1M 4k", "write -P 0x33 3584k 1M",
      "write -P 0x44 5M 512", "write -P 0x55 0 512", "write -z 3584k 8k"
    };
    for (String w : writes) {
      ok("qemu-io", "-f", "vhdx", "-c", w, vhdx.toString());
    }
    Path raw = dir.resolve("q.raw");
    ok("qemu-img", "convert", "-f", "vhdx", "-O", "raw", vhdx.toString(), raw.toString());
    try (VhdxDisk disk = VhdxDisk.open(vhdx, true)) {
      assertEquals(blockMiB * MIB, disk.blockSizeBytes());
      Tools.assertSameAsRaw(disk, raw);
    }
    // And again writable (we leave it clean), then qemu still agrees.
    try (VhdxDisk disk = VhdxDisk.open(vhdx, false)) {
      disk.write(2 * MIB, ByteBuffer.wrap(pattern(7, 8192)));
      disk.flush();
    }
    ok("qemu-img", "check", vhdx.toString());
    ok("qemu-img", "convert", "-f", "vhdx", "-O", "raw", vhdx.toString(), raw.toString());
    try (VhdxDisk disk = VhdxDisk.open(vhdx, true)) {
      Tools.assertSameAsRaw(disk, raw);
    }
  }

  @Test
  void readsAMultiTebibyteSparseQemuFile() throws Exception {
    Path vhdx = dir.resolve("big.vhdx");
    ok("qemu-img", "create", "-q", "-f", "vhdx", vhdx.toString(), "3T");
    long far = 2L * 1024 * 1024 * MIB + 5 * MIB;
    ok("qemu-io", "-f", "vhdx", "-c", "write -P 0x5a " + far + " 64k", vhdx.toString());
    try (VhdxDisk disk = VhdxDisk.open(vhdx, true)) {
      assertEquals(3L << 40, disk.sizeBytes());
      ByteBuffer b = ByteBuffer.allocate(128 * 1024);
      disk.read(far - 32 * 1024, b);
      for (int i = 0; i < b.capacity(); i++) {
        byte expected = i >= 32 * 1024 && i < 96 * 1024 ? (byte) 0x5a : 0;
        assertEquals(expected, b.get(i), "byte " + (far - 32 * 1024 + i));
      }
      List<ByteRange> ranges = disk.allocatedRanges();
      assertEquals(1, ranges.size(), ranges::toString);
      assertTrue(ranges.get(0).offsetBytes() <= far && ranges.get(0).endBytes() >= far + 65536);
    }
  }

  @Test
  void readsWhatQemuConvertsFromRaw() throws Exception {
    Path raw = dir.resolve("src.raw");
    byte[] content = new byte[(int) (37 * MIB + 512)];
    System.arraycopy(pattern(1, 3 * 1024 * 1024), 0, content, 100 * 1024, 3 * 1024 * 1024);
    System.arraycopy(pattern(2, 4096), 0, content, (int) (33 * MIB), 4096);
    Files.write(raw, content);
    Path vhdx = dir.resolve("conv.vhdx");
    ok("qemu-img", "convert", "-f", "raw", "-O", "vhdx", raw.toString(), vhdx.toString());
    try (VhdxDisk disk = VhdxDisk.open(vhdx, true)) {
      Tools.assertSameAsRaw(disk, raw);
    }
  }

  @ParameterizedTest(name = "fixed={0} block {1}M")
  @CsvSource({"false, 1", "false, 32", "true, 1", "false, 256"})
  void filesWeWritePassQemuCheckAndCompare(boolean fixed, int blockMiB) throws Exception {
    Path vhdx = dir.resolve("ours.vhdx");
    long size = 45 * MIB + 4096;
    byte[] model = new byte[(int) size];
    try (VhdxDisk disk =
        VhdxDisk.create(vhdx, new DiskSpec(size, 512, 4096, fixed), blockMiB * MIB)) {
      long[][] writes = {{0, 8192}, {MIB - 512, 4096}, {5 * MIB, 3 * MIB}, {size - 512, 512},
          {20 * MIB, 64 * 1024}};
      for (int i = 0; i < writes.length; i++) {
        byte[] data = pattern(10 + i, (int) writes[i][1]);
        disk.write(writes[i][0], ByteBuffer.wrap(data));
        System.arraycopy(data, 0, model, (int) writes[i][0], data.length);
      }
      disk.trim(5 * MIB + 4096, MIB);
      java.util.Arrays.fill(model, (int) (5 * MIB + 4096), (int) (6 * MIB + 4096), (byte) 0);
      disk.flush();
    }
    Path raw = dir.resolve("ours.raw");
    Files.write(raw, model);
    String check = ok("qemu-img", "check", vhdx.toString());
    assertTrue(check.contains("No errors"), check);
    ok("qemu-img", "compare", "-f", "vhdx", "-F", "raw", vhdx.toString(), raw.toString());
    String info = ok("qemu-img", "info", "--output=json", vhdx.toString());
    assertTrue(info.contains("\"virtual-size\": " + size), info);
  }

  @Test
  void grownAndTrimmedFilesStillPassQemu() throws Exception {
    Path vhdx = dir.resolve("grow.vhdx");
    long size = 3 * MIB;
    long grown = 5000 * MIB + 512;
    try (VhdxDisk disk = VhdxDisk.create(vhdx, new DiskSpec(size, 512, 512, false), MIB)) {
      disk.write(0, ByteBuffer.wrap(pattern(3, 4096)));
      disk.flush();
      disk.grow(grown);
      disk.write(grown - 4096, ByteBuffer.wrap(pattern(4, 4096)));
      disk.trim(0, MIB);
      disk.flush();
    }
    ok("qemu-img", "check", vhdx.toString());
    Path raw = dir.resolve("grow.raw");
    ok("qemu-img", "convert", "-f", "vhdx", "-O", "raw", vhdx.toString(), raw.toString());
    assertEquals(grown, Files.size(raw));
    try (VhdxDisk disk = VhdxDisk.open(vhdx, true)) {
      ByteBuffer tail = ByteBuffer.allocate(4096);
      disk.read(grown - 4096, tail);
      assertArrayEquals(pattern(4, 4096), tail.array());
      ByteBuffer head = ByteBuffer.allocate(4096);
      disk.read(0, head);
      assertArrayEquals(new byte[4096], head.array());
      assertFalse(disk.allocatedRanges().isEmpty());
    }
    try (var ch = java.nio.channels.FileChannel.open(raw)) {
      ByteBuffer tail = ByteBuffer.allocate(4096);
      ch.read(tail, grown - 4096);
      assertArrayEquals(pattern(4, 4096), tail.array());
    }
  }

  /**
   * A dirty log built from the spec's structures in a file qemu wrote over several sessions (so
   * its log holds stale entries of other LogGuids): our read-only replay must agree with what
   * qemu makes of the file after its own replay ({@code qemu-img check -r all}).
   */
  @Test
  void ourReplayOfADirtyLogAgreesWithQemusReplay() throws Exception {
    Path vhdx = dir.resolve("dirty.vhdx");
    ok("qemu-img", "create", "-q", "-f", "vhdx", "-o", "block_size=1M", vhdx.toString(), "8M");
    ok("qemu-io", "-f", "vhdx", "-c", "write -P 0x11 0 64k", vhdx.toString());
    ok("qemu-io", "-f", "vhdx", "-c", "write -P 0x22 2M 4k", vhdx.toString());
    try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(vhdx,
        java.nio.file.StandardOpenOption.READ, java.nio.file.StandardOpenOption.WRITE)) {
      FileIo io = new FileIo(vhdx, ch);
      Header h1 = Header.parse(vhdx, io.read(Header.OFFSET_1, 4096), Header.OFFSET_1, "h1");
      Header h2 = Header.parse(vhdx, io.read(Header.OFFSET_2, 4096), Header.OFFSET_2, "h2");
      boolean firstCurrent = Long.compareUnsigned(h1.sequenceNumber(), h2.sequenceNumber()) > 0;
      Header current = firstCurrent ? h1 : h2;
      RegionTable rt = RegionTable.parse(vhdx, io.read(RegionTable.OFFSET_1, RegionTable.SIZE),
          RegionTable.OFFSET_1, "rt");
      long bat = rt.find(RegionTable.BAT).fileOffset();
      long payload = VhdxFile.roundUp(ch.size(), MIB);
      io.write(payload, pattern(9, (int) MIB));
      byte[] page = io.read(bat, 4096);
      Le.put64(page, 4 * 8, payload | 6);
      java.util.TreeMap<Long, byte[]> updates = new java.util.TreeMap<>();
      updates.put(bat, page);
      java.util.UUID guid = java.util.UUID.randomUUID();
      long pos = 64 * 1024;
      io.write(current.logOffsetBytes() + pos,
          Log.buildEntry(guid, 1, pos, updates, 0, payload + MIB));
      io.write(firstCurrent ? Header.OFFSET_2 : Header.OFFSET_1,
          current.next(current.fileWriteGuid(), current.dataWriteGuid(), guid).encode());
      io.force();
    }
    byte[] ours;
    try (VhdxDisk disk = VhdxDisk.open(vhdx, true)) {
      ByteBuffer all = ByteBuffer.allocate((int) disk.sizeBytes());
      disk.read(0, all);
      ours = all.array();
    }
    assertEquals(0x11, ours[0]);
    assertEquals(0x22, ours[(int) (2 * MIB)]);
    assertArrayEquals(pattern(9, (int) MIB),
        java.util.Arrays.copyOfRange(ours, (int) (4 * MIB), (int) (5 * MIB)));
    Tools.run("qemu-img", "check", "-r", "all", vhdx.toString());
    Path raw = dir.resolve("dirty.raw");
    ok("qemu-img", "convert", "-f", "vhdx", "-O", "raw", vhdx.toString(), raw.toString());
    assertArrayEquals(ours, Files.readAllBytes(raw), "qemu's replay differs from ours");
  }
}
