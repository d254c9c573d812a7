package io.replica.storage.vhdx;

import static io.replica.storage.vhdx.Tools.pattern;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replica.spi.storage.ByteRange;
import io.replica.spi.storage.DiskSpec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The path-level API: children, merge, grow, GUID rules and the paged BAT of a huge disk. */
class VhdxDiskTest {

  private static final int MIB = 1024 * 1024;

  @TempDir Path dir;

  private static byte[] read(VhdxDisk d, long offset, int length) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(length);
    d.read(offset, b);
    return b.array();
  }

  @Test
  void aSixtyFourTebibyteDiskWorksWithoutLoadingItsBat() throws IOException {
    Path file = dir.resolve("huge.vhdx");
    long size = 64L << 40;
    try (VhdxDisk d = VhdxDisk.create(file, DiskSpec.dynamic(size), MIB)) {
      assertTrue(d.file().regions().find(RegionTable.BAT).length() >= 512L * MIB);
      d.write(size - 4096, ByteBuffer.wrap(pattern(1, 4096)));
      d.write(0, ByteBuffer.wrap(pattern(2, 4096)));
    }
    try (VhdxDisk d = VhdxDisk.open(file, true)) {
      assertArrayEquals(pattern(1, 4096), read(d, size - 4096, 4096));
      assertArrayEquals(pattern(2, 4096), read(d, 0, 4096));
      assertArrayEquals(new byte[4096], read(d, size / 2, 4096));
    }
    assertTrue(Files.size(file) < 600L * MIB, "the file stays sparse-sized: " + Files.size(file));
    assertThrows(IllegalArgumentException.class,
        () -> VhdxDisk.create(dir.resolve("too.vhdx"), DiskSpec.dynamic(size + 512)));
    assertThrows(IllegalArgumentException.class,
        () -> VhdxDisk.create(dir.resolve("bs.vhdx"), DiskSpec.dynamic(MIB), 3L * MIB));
  }

  @Test
  void dataWriteGuidChangesOnlyWithUserVisibleWrites() throws IOException {
    Path file = dir.resolve("g.vhdx");
    UUID created;
    try (VhdxDisk d = VhdxDisk.create(file, DiskSpec.dynamic(4L * MIB), MIB)) {
      created = d.dataWriteGuid();
    }
    byte[] before = Files.readAllBytes(file);
    try (VhdxDisk d = VhdxDisk.open(file, false)) {
      read(d, 0, 4096);
    }
    assertArrayEquals(before, Files.readAllBytes(file), "an open without writes changes nothing");
    UUID written;
    try (VhdxDisk d = VhdxDisk.open(file, false)) {
      d.write(0, ByteBuffer.wrap(pattern(1, 512)));
      written = d.dataWriteGuid();
    }
    assertNotEquals(created, written);
    try (VhdxDisk d = VhdxDisk.open(file, true)) {
      assertEquals(written, d.dataWriteGuid());
      assertTrue(d.file().header().logEmpty(), "a clean close leaves the log empty");
    }
  }

  @Test
  void aChildOfAModifiedParentIsRefused() throws IOException {
    Path parent = dir.resolve("p.vhdx");
    VhdxDisk.create(parent, DiskSpec.dynamic(4L * MIB), MIB).close();
    VhdxDisk.createChild(dir.resolve("c.avhdx"), parent).close();
    try (VhdxDisk p = VhdxDisk.open(parent, false)) {
      p.write(0, ByteBuffer.wrap(pattern(1, 512)));
    }
    IOException e = assertThrows(IOException.class,
        () -> VhdxDisk.open(dir.resolve("c.avhdx"), true));
    assertTrue(e.getMessage().contains("DataWriteGuid"), e.getMessage());
    Files.delete(parent);
    assertThrows(java.nio.file.NoSuchFileException.class,
        () -> VhdxDisk.open(dir.resolve("c.avhdx"), true));
  }

  @Test
  void mergeAChainIntoItsParentAndGrowFirstWhenTheChildGrew() throws Exception {
    Path parent = dir.resolve("p.vhdx");
    try (VhdxDisk p = VhdxDisk.create(parent, new DiskSpec(6L * MIB, 4096, 4096, false), MIB)) {
      p.write(0, ByteBuffer.wrap(pattern(1, 3 * MIB)));
    }
    Path sub = Files.createDirectories(dir.resolve("sub"));
    Path child = sub.resolve("c.avhdx");
    byte[] expected;
    try (VhdxDisk c = VhdxDisk.createChild(child, parent)) {
      c.write(MIB, ByteBuffer.wrap(pattern(2, 8192)));
      c.trim(2L * MIB, 2L * MIB);
      c.grow(9L * MIB);
      c.write(8L * MIB, ByteBuffer.wrap(pattern(3, 4096)));
      expected = read(c, 0, 9 * MIB);
      List<ByteRange> ranges = c.allocatedRanges();
      assertEquals(0, ranges.get(0).offsetBytes());
    }
    VhdxDisk.mergeIntoParent(child);
    try (VhdxDisk p = VhdxDisk.open(parent, true)) {
      assertEquals(9L * MIB, p.sizeBytes());
      assertArrayEquals(expected, read(p, 0, 9 * MIB));
    }
    if (Tools.available("qemu-img")) {
      Path parent512 = dir.resolve("p512.vhdx");
      try (VhdxDisk p = VhdxDisk.create(parent512, DiskSpec.dynamic(6L * MIB), MIB)) {
        p.write(0, ByteBuffer.wrap(pattern(1, 3 * MIB)));
      }
      try (VhdxDisk c = VhdxDisk.createChild(dir.resolve("c512.avhdx"), parent512)) {
        c.write(MIB, ByteBuffer.wrap(pattern(2, 8192)));
        c.trim(2L * MIB, 2L * MIB);
      }
      VhdxDisk.mergeIntoParent(dir.resolve("c512.avhdx"));
      assertTrue(Tools.run("qemu-img", "check", parent512.toString()).exit() == 0);
    }
  }
}
