package io.replica.storage.vhdx;

import static io.replica.storage.vhdx.Tools.ok;
import static io.replica.storage.vhdx.Tools.pattern;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.replica.spi.storage.DiskSpec;
import io.replica.storage.vhdx.DiskConverter.Format;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link DiskConverter} on real files, checked by qemu-img where another tool's view matters. */
class DiskConverterTest {

  private static final int MIB = 1 << 20;

  @TempDir Path dir;

  /** A raw image whose size is not a multiple of the sector, with data in three places. */
  private byte[] rawWithData(Path raw) throws IOException {
    byte[] content = new byte[9 * MIB + 700];
    System.arraycopy(pattern(1, 100_000), 0, content, 3 * MIB + 17, 100_000);
    System.arraycopy(pattern(2, 4096), 0, content, 0, 4096);
    System.arraycopy(pattern(3, 700), 0, content, content.length - 700, 700);
    Files.write(raw, content);
    return content;
  }

  @Test
  void rawToVhdxWritesOnlyNonZeroPiecesAndQemuReadsTheSameBytes() throws Exception {
    Path raw = dir.resolve("src.img");
    byte[] content = rawWithData(raw);
    Path vhdx = dir.resolve("out.vhdx");
    List<long[]> updates = new ArrayList<>();
    DiskConverter.Result result = DiskConverter.to(Format.VHDX)
        .withBlockSizeBytes(MIB)
        .withProgress((done, total) -> updates.add(new long[] {done, total}))
        .convert(raw, vhdx);

    long rounded = (content.length + 511) / 512 * 512;
    assertEquals(new DiskConverter.Result(rounded, content.length, result.bytesWritten()), result);
    assertTrue(result.bytesWritten() <= 4 * 64 * 1024 + 2 * 64 * 1024,
        "only the 64 KiB pieces that hold data are written: " + result);
    try (VhdxDisk d = VhdxDisk.open(vhdx, true)) {
      assertEquals(rounded, d.sizeBytes());
      assertEquals(MIB, d.blockSizeBytes());
      assertEquals(512, d.logicalSectorSizeBytes());
      long allocated = d.allocatedRanges().stream().mapToLong(r -> r.lengthBytes()).sum();
      // Blocks 0 and 3 hold data, and the last block, which is only 1024 bytes long.
      assertEquals(2L * MIB + 1024, allocated, "only blocks with data are allocated");
    }
    assertFalse(updates.isEmpty());
    long last = 0;
    for (long[] u : updates) {
      assertEquals(content.length, u[1], "the total is the source's allocated bytes");
      assertTrue(u[0] > last && u[0] <= u[1], "progress only moves forward");
      last = u[0];
    }
    assertEquals(content.length, last, "the last update reports everything read");

    assumeTrue(Tools.available("qemu-img"), "qemu-img is not installed");
    ok("qemu-img", "check", vhdx.toString());
    Path padded = dir.resolve("padded.raw");
    byte[] expected = java.util.Arrays.copyOf(content, (int) rounded);
    Files.write(padded, expected);
    ok("qemu-img", "compare", "-f", "vhdx", "-F", "raw", vhdx.toString(), padded.toString());
  }

  @Test
  void vhdxMadeByQemuToRawIsByteExactAndSparse() throws Exception {
    assumeTrue(Tools.available("qemu-img"), "qemu-img is not installed");
    Path raw = dir.resolve("src.img");
    byte[] content = new byte[40 * MIB];
    System.arraycopy(pattern(4, 3 * MIB), 0, content, 5 * MIB, 3 * MIB);
    System.arraycopy(pattern(5, 512), 0, content, content.length - 512, 512);
    Files.write(raw, content);
    Path vhdx = dir.resolve("qemu.vhdx");
    ok("qemu-img", "convert", "-f", "raw", "-O", "vhdx", raw.toString(), vhdx.toString());

    Path back = dir.resolve("back.raw");
    DiskConverter.Result result = DiskConverter.to(Format.RAW).convert(vhdx, back);
    assertEquals(content.length, result.sizeBytes());
    assertArrayEquals(content, Files.readAllBytes(back));
    assertTrue(result.bytesWritten() < content.length / 4,
        "zeros are holes, not written: " + result);
    String map = ok("qemu-img", "map", "--output=json", "-f", "raw", back.toString());
    assertTrue(map.contains("\"data\": false"), "the raw target has holes: " + map);
  }

  @Test
  void vhdxToVhdxKeepsTheSourcesBlockAndSectorSizeUnlessToldOtherwise() throws IOException {
    Path source = dir.resolve("src.vhdx");
    try (VhdxDisk d = VhdxDisk.create(source, new DiskSpec(8L * MIB, 4096, 4096, false), 2 * MIB)) {
      d.write(6L * MIB, ByteBuffer.wrap(pattern(6, 8192)));
    }
    Path same = dir.resolve("same.bin");
    DiskConverter.to(Format.VHDX).convert(source, same);
    Path other = dir.resolve("other.vhdx");
    DiskConverter.to(Format.VHDX).withBlockSizeBytes(8 * MIB).convert(source, other);
    try (VhdxDisk s = VhdxDisk.open(source, true); VhdxDisk a = VhdxDisk.open(same, true);
        VhdxDisk b = VhdxDisk.open(other, true)) {
      assertEquals(2L * MIB, a.blockSizeBytes(), "a VHDX target keeps the source's block size");
      assertEquals(4096, a.logicalSectorSizeBytes(), "and its sector size");
      assertEquals(8L * MIB, b.blockSizeBytes());
      assertArrayEquals(readAll(s), readAll(a));
      assertArrayEquals(readAll(s), readAll(b));
    }
    assertTrue(DiskConverter.isVhdxFile(same), "recognised by its signature, whatever its name");
    assertFalse(DiskConverter.isVhdxFile(writeRaw("plain.raw")));
  }

  @Test
  void aDifferencingSourceIsReadThroughItsChain() throws IOException {
    Path parent = dir.resolve("p.vhdx");
    Path child = dir.resolve("c.avhdx");
    byte[] expected = new byte[6 * MIB];
    try (VhdxDisk p = VhdxDisk.create(parent, DiskSpec.dynamic(expected.length), MIB)) {
      byte[] data = pattern(7, 3 * MIB);
      p.write(0, ByteBuffer.wrap(data));
      System.arraycopy(data, 0, expected, 0, data.length);
    }
    try (VhdxDisk c = VhdxDisk.createChild(child, parent)) {
      byte[] data = pattern(8, 8192);
      c.write(MIB + 512, ByteBuffer.wrap(data));
      System.arraycopy(data, 0, expected, MIB + 512, data.length);
    }
    Path raw = dir.resolve("flat.raw");
    DiskConverter.to(Format.RAW).convert(child, raw);
    assertArrayEquals(expected, Files.readAllBytes(raw));
    Path flat = dir.resolve("flat.vhdx");
    DiskConverter.to(Format.VHDX).convert(child, flat);
    try (VhdxDisk f = VhdxDisk.open(flat, true)) {
      assertEquals(List.of(flat), f.chain(), "the target stands alone");
      assertArrayEquals(expected, readAll(f));
    }
  }

  @Test
  void anExistingTargetIsLeftAloneUnlessReplacingAndThenLosesItsOldContent()
      throws IOException {
    Path source = dir.resolve("src.vhdx");
    byte[] expected = new byte[3 * MIB + 512];
    try (VhdxDisk d = VhdxDisk.create(source, DiskSpec.dynamic(expected.length), MIB)) {
      byte[] data = pattern(9, 5120);
      d.write(2 * MIB - 512, ByteBuffer.wrap(data));
      System.arraycopy(data, 0, expected, 2 * MIB - 512, data.length);
    }
    Path target = dir.resolve("old.raw");
    byte[] old = pattern(10, 5 * MIB);
    Files.write(target, old);
    FileAlreadyExistsException e = assertThrows(FileAlreadyExistsException.class,
        () -> DiskConverter.to(Format.RAW).convert(source, target));
    assertTrue(e.getMessage().contains(target.toString()), e.getMessage());
    assertArrayEquals(old, Files.readAllBytes(target), "a refused target is left alone");
    DiskConverter.to(Format.RAW).replacingExisting(true).convert(source, target);
    assertArrayEquals(expected, Files.readAllBytes(target), "old content is gone, holes too");
  }

  @Test
  void badArgumentsAreRefusedBeforeAnythingIsWritten() throws IOException {
    Path raw = writeRaw("a.raw");
    DiskConverter any = DiskConverter.to(Format.VHDX).replacingExisting(true);
    assertThrows(NoSuchFileException.class,
        () -> any.convert(dir.resolve("missing.raw"), dir.resolve("x.vhdx")));
    IllegalArgumentException same =
        assertThrows(IllegalArgumentException.class, () -> any.convert(raw, raw));
    assertTrue(same.getMessage().contains("same file"), same.getMessage());
    Path folder = Files.createDirectories(dir.resolve("folder.vhdx"));
    IllegalArgumentException toFolder =
        assertThrows(IllegalArgumentException.class, () -> any.convert(raw, folder));
    assertTrue(toFolder.getMessage().contains("is a folder"), toFolder.getMessage());
    IllegalArgumentException block = assertThrows(IllegalArgumentException.class,
        () -> DiskConverter.to(Format.VHDX).withBlockSizeBytes(3 * MIB));
    assertTrue(block.getMessage().contains("power of two"), block.getMessage());
    assertFalse(Files.exists(dir.resolve("x.vhdx")));
    assertEquals(Format.VHDX, Format.ofFileName(Path.of("d.AVHDX")));
    assertEquals(Format.RAW, Format.ofFileName(Path.of("d.img")));
  }

  private Path writeRaw(String name) throws IOException {
    Path raw = dir.resolve(name);
    try (FileChannel ch = FileChannel.open(raw, StandardOpenOption.CREATE,
        StandardOpenOption.WRITE)) {
      ch.write(ByteBuffer.wrap(pattern(11, 4096)));
    }
    return raw;
  }

  private static byte[] readAll(VhdxDisk d) throws IOException {
    byte[] all = new byte[(int) d.sizeBytes()];
    d.read(0, ByteBuffer.wrap(all));
    return all;
  }
}
