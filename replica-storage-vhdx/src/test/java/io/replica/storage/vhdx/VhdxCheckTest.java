package io.replica.storage.vhdx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replica.spi.storage.DiskSpec;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VhdxCheckTest {

  private static final int MIB = 1024 * 1024;

  @TempDir Path dir;

  @Test
  void soundFilesHaveNoProblems() throws Exception {
    Path ours = dir.resolve("ours.vhdx");
    try (VhdxDisk d = VhdxDisk.create(ours, new DiskSpec(20L * MIB, 512, 4096, true), MIB)) {
      d.write(MIB, ByteBuffer.wrap(Tools.pattern(1, 4096)));
    }
    assertEquals(List.of(), VhdxCheck.check(ours));
    Path child = dir.resolve("child.avhdx");
    try (VhdxDisk c = VhdxDisk.createChild(child, ours)) {
      c.write(3L * MIB + 512, ByteBuffer.wrap(Tools.pattern(2, 4096)));
      c.write(8L * MIB, ByteBuffer.wrap(Tools.pattern(3, 2 * MIB)));
      c.trim(12L * MIB, 2L * MIB);
    }
    assertEquals(List.of(), VhdxCheck.check(child));
    if (Tools.available("qemu-img")) {
      Path qemu = dir.resolve("qemu.vhdx");
      Tools.ok("qemu-img", "create", "-q", "-f", "vhdx", qemu.toString(), "100M");
      Tools.ok("qemu-io", "-f", "vhdx", "-c", "write -P 1 50M 1M", qemu.toString());
      assertEquals(List.of(), VhdxCheck.check(qemu));
    }
  }

  @Test
  void reportsEachDamagedStructure() throws Exception {
    Path file = dir.resolve("bad.vhdx");
    try (VhdxDisk d = VhdxDisk.create(file, new DiskSpec(8L * MIB, 512, 4096, false), MIB)) {
      d.write(0, ByteBuffer.wrap(Tools.pattern(1, 4096)));
      d.write(3L * MIB, ByteBuffer.wrap(Tools.pattern(2, 4096)));
    }
    long batOffset;
    long size;
    try (VhdxDisk d = VhdxDisk.open(file, true)) {
      batOffset = d.file().regions().find(RegionTable.BAT).fileOffset();
      size = d.file().io.size();
    }
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ,
        StandardOpenOption.WRITE)) {
      ch.write(ByteBuffer.wrap(new byte[] {9}), RegionTable.OFFSET_2 + 500);
      byte[] entry = new byte[8];
      Le.put64(entry, 0, ((size + 64L * MIB) & ~(MIB - 1L)) | 6);
      ch.write(ByteBuffer.wrap(entry), batOffset + 8 * 3);
    }
    List<String> problems = VhdxCheck.check(file);
    assertEquals(2, problems.size(), problems::toString);
    assertTrue(problems.get(0).startsWith("region table 2 at offset 262144"), problems::toString);
    assertTrue(problems.get(1).startsWith("BAT entry 3 at offset " + (batOffset + 24)),
        problems::toString);
    assertTrue(problems.get(1).contains("after the end of the file"), problems::toString);
  }
}
