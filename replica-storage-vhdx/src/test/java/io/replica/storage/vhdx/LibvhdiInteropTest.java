package io.replica.storage.vhdx;

import static io.replica.storage.vhdx.Tools.pattern;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.replica.spi.storage.DiskSpec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What qemu cannot open, read through Debian's libvhdi (python3-libvhdi): differencing disks with
 * full, partial and not-present blocks, and 4096-byte sectors.
 */
class LibvhdiInteropTest {

  private static final int MIB = 1024 * 1024;
  private static final String PYTHON = "/usr/bin/python3";

  @TempDir Path dir;

  @BeforeAll
  static void needsLibvhdi() throws Exception {
    assumeTrue(Files.isExecutable(Path.of(PYTHON))
            && Tools.run(PYTHON, "-c", "import pyvhdi").exit() == 0,
        "python3-libvhdi is not installed (CI installs it)");
  }

  /** The disk as libvhdi reads it, with the parent set explicitly as libvhdi requires. */
  private byte[] libvhdi(Path file, Path parent) throws Exception {
    Path out = dir.resolve("libvhdi.raw");
    String script = String.join("\n",
        "import pyvhdi, sys",
        "f = pyvhdi.file(); f.open(sys.argv[1])",
        "if len(sys.argv) > 3:",
        "    p = pyvhdi.file(); p.open(sys.argv[3]); f.set_parent(p)",
        "size = f.get_media_size()",
        "with open(sys.argv[2], 'wb') as o:",
        "    f.seek_offset(0, 0)",
        "    left = size",
        "    while left > 0:",
        "        b = f.read_buffer(min(left, 1 << 20)); o.write(b); left -= len(b)",
        "print(size, f.get_bytes_per_sector())");
    if (parent == null) {
      Tools.ok(PYTHON, "-c", script, file.toString(), out.toString());
    } else {
      Tools.ok(PYTHON, "-c", script, file.toString(), out.toString(), parent.toString());
    }
    return Files.readAllBytes(out);
  }

  private static byte[] readAll(VhdxDisk disk) throws IOException {
    ByteBuffer b = ByteBuffer.allocate((int) disk.sizeBytes());
    disk.read(0, b);
    return b.array();
  }

  @Test
  void fourKibibyteSectorDisksReadTheSame() throws Exception {
    Path file = dir.resolve("4k.vhdx");
    long size = 5L * MIB + 3 * 4096;
    byte[] model = new byte[(int) size];
    try (VhdxDisk disk = VhdxDisk.create(file, new DiskSpec(size, 4096, 4096, false), MIB)) {
      byte[] data = pattern(1, 3 * 4096);
      disk.write(2L * MIB - 4096, ByteBuffer.wrap(data));
      System.arraycopy(data, 0, model, 2 * MIB - 4096, data.length);
      byte[] tail = pattern(2, 4096);
      disk.write(size - 4096, ByteBuffer.wrap(tail));
      System.arraycopy(tail, 0, model, (int) size - 4096, 4096);
    }
    assertArrayEquals(model, libvhdi(file, null));
    try (VhdxDisk disk = VhdxDisk.open(file, true)) {
      assertEquals(4096, disk.logicalSectorSizeBytes());
      assertArrayEquals(model, readAll(disk));
    }
  }

  @Test
  void vhdiinfoShowsTheAbsolutePathOfTheParent() throws Exception {
    assumeTrue(Tools.available("vhdiinfo"), "vhdiinfo (libvhdi-utils) is not installed");
    Path parentFile = dir.resolve("parent.vhdx");
    VhdxDisk.create(parentFile, new DiskSpec(4L * MIB, 512, 4096, false), MIB).close();
    Path childFile = dir.resolve("child.avhdx");
    VhdxDisk.createChild(childFile, parentFile).close();
    String info = Tools.ok("vhdiinfo", childFile.toString());
    String expected = "\\\\?\\"
        + parentFile.toAbsolutePath().toString().replace(java.io.File.separatorChar, '\\');
    assertTrue(info.contains("Parent filename\t\t: " + expected + "\n"), info);
  }

  @Test
  void differencingDisksWithFullPartialNotPresentAndZeroBlocks() throws Exception {
    Path parentFile = dir.resolve("parent.vhdx");
    long size = 10L * MIB;
    try (VhdxDisk parent = VhdxDisk.create(parentFile, new DiskSpec(size, 512, 4096, false), MIB)) {
      parent.write(0, ByteBuffer.wrap(pattern(10, (int) size)));
    }
    byte[] model;
    try (VhdxDisk p = VhdxDisk.open(parentFile, true)) {
      model = readAll(p);
    }
    Path childFile = dir.resolve("child.avhdx");
    try (VhdxDisk child = VhdxDisk.createChild(childFile, parentFile)) {
      // Child blocks are 2 MiB: block 0 partially present (our sector bitmap), block 1 not
      // present, block 3 zero, block 4 written whole (fully present).
      byte[] data = pattern(11, 8192);
      child.write(4096, ByteBuffer.wrap(data));
      System.arraycopy(data, 0, model, 4096, data.length);
      byte[] tail = pattern(13, 1536);
      child.write(2L * MIB - 2048, ByteBuffer.wrap(tail));
      System.arraycopy(tail, 0, model, 2 * MIB - 2048, tail.length);
      child.trim(6L * MIB, 2L * MIB);
      Arrays.fill(model, 6 * MIB, 8 * MIB, (byte) 0);
      byte[] whole = pattern(14, 2 * MIB);
      child.write(8L * MIB, ByteBuffer.wrap(whole));
      System.arraycopy(whole, 0, model, 8 * MIB, whole.length);
    }
    // Block 2 becomes PARTIALLY_PRESENT by hand, from the spec's structures: its own payload
    // block holding only the sectors whose bit is set in the chunk's sector bitmap.
    long block2 = 4L * MIB;
    try (FileChannel ch = FileChannel.open(childFile, StandardOpenOption.READ,
        StandardOpenOption.WRITE)) {
      FileIo io = new FileIo(childFile, ch);
      RegionTable rt = RegionTable.parse(childFile, io.read(RegionTable.OFFSET_1,
          RegionTable.SIZE), RegionTable.OFFSET_1, "region table 1");
      long bat = rt.find(RegionTable.BAT).fileOffset();
      int chunkRatio = (int) ((1L << 23) * 512 / (2 * MIB));
      long bitmapAt = Bat.offset(Le.u64(io.read(bat + 8L * chunkRatio, 8), 0));
      assertEquals(6, Le.u64(io.read(bat + 8L * chunkRatio, 8), 0) & 7,
          "our partial write made the chunk's sector bitmap");
      assertEquals(7, Le.u64(io.read(bat, 8), 0) & 7, "block 0 is partially present");
      assertEquals(6, Le.u64(io.read(bat + 8L * 4, 8), 0) & 7, "block 4 is fully present");
      long payloadAt = VhdxFile.roundUp(ch.size(), MIB);
      byte[] bitmap = io.read(bitmapAt, MIB);
      byte[] payload = pattern(12, 2 * MIB);
      int sectorsPerBlock = 2 * MIB / 512;
      for (int s = 0; s < sectorsPerBlock; s++) {
        if (s % 7 == 0 || (s >= 100 && s < 300)) {
          int bit = 2 * sectorsPerBlock + s; // block 2 of chunk 0
          bitmap[bit / 8] |= (byte) (1 << (bit % 8));
          System.arraycopy(payload, s * 512, model, (int) block2 + s * 512, 512);
        }
      }
      io.write(bitmapAt, bitmap);
      io.write(payloadAt, payload);
      byte[] entry = new byte[8];
      Le.put64(entry, 0, payloadAt | 7);
      io.write(bat + 8L * 2, entry);
      io.force();
    }
    try (VhdxDisk child = VhdxDisk.open(childFile, true)) {
      assertEquals(parentFile.toRealPath(), child.parentPath().orElseThrow().toRealPath());
      assertArrayEquals(model, readAll(child), "our read of the child");
    }
    byte[] theirs = libvhdi(childFile, parentFile);
    // libvhdi wrongly reads a child's ZERO block from the parent; the spec says zeros.
    assertArrayEquals(Arrays.copyOf(model, 6 * MIB), Arrays.copyOf(theirs, 6 * MIB),
        "libvhdi's read of the child before its ZERO block");
    assertArrayEquals(Arrays.copyOfRange(model, 8 * MIB, 10 * MIB),
        Arrays.copyOfRange(theirs, 8 * MIB, 10 * MIB),
        "libvhdi's read of the child after its ZERO block");
  }
}
