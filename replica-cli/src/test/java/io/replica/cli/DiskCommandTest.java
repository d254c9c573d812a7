package io.replica.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replica.storage.vhdx.VhdxDisk;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DiskCommandTest {

  @TempDir Path dir;

  private record Run(int code, String out, String err) {}

  private static Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
    return new Run(code, out.toString(), err.toString());
  }

  private static byte[] pattern(long seed, int length) {
    byte[] b = new byte[length];
    SplittableRandom r = new SplittableRandom(seed);
    for (int i = 0; i < length; i++) {
      b[i] = (byte) r.nextInt(1, 256);
    }
    return b;
  }

  @Test
  void createInfoAndCheckADynamicDisk() {
    String file = dir.resolve("a.vhdx").toString();
    Run create = run("disk", "create", file, "--size", "64M", "--block-size", "1M");
    assertEquals(0, create.code(), create.err());
    Run info = run("disk", "info", file, "--json");
    assertEquals(0, info.code(), info.err());
    assertTrue(info.out().contains("\"virtualSizeBytes\":67108864"), info.out());
    assertTrue(info.out().contains("\"blockSizeBytes\":1048576"), info.out());
    assertTrue(info.out().contains("\"type\":\"dynamic\""), info.out());
    assertTrue(info.out().contains("\"allocatedBytes\":0"), info.out());
    assertTrue(info.out().contains("\"parentChain\":[]"), info.out());
    Run check = run("disk", "check", file);
    assertEquals(0, check.code(), check.out() + check.err());
  }

  @Test
  void createUsageErrorsExitWithTwo() {
    String file = dir.resolve("b.vhdx").toString();
    assertEquals(2, run("disk", "create", file).code(), "--size missing");
    assertEquals(2, run("disk", "create", file, "--size", "1G", "--logical-sector", "1024").code());
    assertEquals(2, run("disk", "create", file, "--size", "1G", "--block-size", "3M").code());
    assertEquals(2, run("disk", "create", file, "--size", "ten").code());
    assertEquals(2, run("disk", "check", dir.resolve("missing.vhdx").toString()).code());
    assertEquals(2, run("disk").code());
    assertTrue(Files.notExists(dir.resolve("b.vhdx")));
  }

  @Test
  void aChildShowsItsParentChain() {
    String parent = dir.resolve("p.vhdx").toString();
    String child = dir.resolve("c.avhdx").toString();
    assertEquals(0, run("disk", "create", parent, "--size", "8M", "--logical-sector", "4096")
        .code());
    Run create = run("disk", "create", child, "--parent", parent);
    assertEquals(0, create.code(), create.err());
    Run info = run("disk", "info", child, "--json");
    assertTrue(info.out().contains("\"type\":\"differencing\""), info.out());
    assertTrue(info.out().contains("\"logicalSectorSizeBytes\":4096"), info.out());
    assertTrue(info.out().contains("p.vhdx\"]"), info.out());
  }

  @Test
  void checkReportsACorruptHeaderAndExitsWithOne() throws IOException {
    Path file = dir.resolve("bad.vhdx");
    assertEquals(0, run("disk", "create", file.toString(), "--size", "8M").code());
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ch.write(ByteBuffer.wrap(new byte[] {1, 2, 3}), 64 * 1024 + 200);
    }
    Run check = run("disk", "check", file.toString());
    assertEquals(1, check.code(), check.out());
    assertTrue(check.out().contains("header 1 at offset 65536"), check.out());
  }

  @Test
  void convertRawToVhdxAndBackThenCompare() throws IOException {
    Path raw = dir.resolve("src.img");
    byte[] content = new byte[9 * 1024 * 1024 + 512];
    System.arraycopy(pattern(1, 100_000), 0, content, 3 * 1024 * 1024 + 17, 100_000);
    System.arraycopy(pattern(2, 512), 0, content, content.length - 512, 512);
    Files.write(raw, content);
    Path vhdx = dir.resolve("out.vhdx");
    Run to = run("disk", "convert", "--block-size", "1M", raw.toString(), vhdx.toString());
    assertEquals(0, to.code(), to.err());
    try (VhdxDisk d = VhdxDisk.open(vhdx, true)) {
      assertEquals(content.length, d.sizeBytes());
      long allocated = d.allocatedRanges().stream().mapToLong(r -> r.lengthBytes()).sum();
      assertTrue(allocated < content.length, "zeros must not be allocated: " + allocated);
    }
    assertEquals(0, run("disk", "compare", raw.toString(), vhdx.toString()).code());
    Path back = dir.resolve("back.raw");
    Run from = run("disk", "convert", vhdx.toString(), back.toString());
    assertEquals(0, from.code(), from.err());
    assertEquals(content.length, Files.size(back));
    assertTrue(java.util.Arrays.equals(content, Files.readAllBytes(back)));
    Path copy = dir.resolve("copy.bin");
    Run again = run("disk", "convert", "--to", "vhdx", vhdx.toString(), copy.toString());
    assertEquals(0, again.code(), again.err());
    assertEquals(0, run("disk", "compare", copy.toString(), raw.toString()).code());
    assertEquals(2, run("disk", "convert", "--to", "qcow2", raw.toString(), copy.toString())
        .code());
  }

  @Test
  void convertToRawReplacesAnExistingLargerFile() throws IOException {
    Path vhdx = dir.resolve("src.vhdx");
    byte[] expected = new byte[3 * 1024 * 1024 + 512];
    byte[] data = pattern(6, 5000);
    System.arraycopy(data, 0, expected, 2 * 1024 * 1024 - 100, data.length);
    try (VhdxDisk d = VhdxDisk.create(vhdx, io.replica.spi.storage.DiskSpec.dynamic(
        expected.length), 1024 * 1024)) {
      d.write(2 * 1024 * 1024 - 512, ByteBuffer.wrap(expected, 2 * 1024 * 1024 - 512, 5632));
    }
    Path raw = dir.resolve("old.raw");
    Files.write(raw, pattern(7, 5 * 1024 * 1024));
    Run r = run("disk", "convert", "--force", vhdx.toString(), raw.toString());
    assertEquals(0, r.code(), r.err());
    assertTrue(java.util.Arrays.equals(expected, Files.readAllBytes(raw)),
        "the old content must be gone, holes included");
  }

  @Test
  void convertOntoAnExistingTargetIsRefusedWithoutForce() throws IOException {
    Path raw = dir.resolve("src.raw");
    Files.write(raw, pattern(8, 2 * 1024 * 1024));
    for (String name : new String[] {"old.vhdx", "old.raw"}) {
      Path target = dir.resolve(name);
      if (name.endsWith(".vhdx")) {
        assertEquals(0, run("disk", "create", target.toString(), "--size", "1M").code());
      } else {
        Files.write(target, pattern(9, 4096));
      }
      byte[] before = Files.readAllBytes(target);
      Run r = run("disk", "convert", raw.toString(), target.toString());
      assertEquals(2, r.code(), r.out() + r.err());
      assertEquals("disk convert: TARGET '" + target + "' exists; pass --force to overwrite it"
          + " (its content is lost), or name a new file", r.err().strip());
      assertTrue(java.util.Arrays.equals(before, Files.readAllBytes(target)),
          "the existing target must be left alone");
      Run forced = run("disk", "convert", "--force", raw.toString(), target.toString());
      assertEquals(0, forced.code(), forced.err());
      assertEquals(0, run("disk", "compare", raw.toString(), target.toString()).code());
    }
  }

  @Test
  void aFolderIsNamedAsAFolder() throws IOException {
    Path folder = Files.createDirectories(dir.resolve("a folder.vhdx"));
    Path disk = dir.resolve("d.vhdx");
    assertEquals(0, run("disk", "create", disk.toString(), "--size", "1M").code());
    String expected = "'" + folder + "' is a folder, not a disk file";
    for (String[] args : new String[][] {{"check", folder.toString()},
        {"info", folder.toString()}, {"compare", folder.toString(), disk.toString()},
        {"compare", disk.toString(), folder.toString()},
        {"convert", folder.toString(), dir.resolve("out.raw").toString()}}) {
      String[] full = new String[args.length + 1];
      full[0] = "disk";
      System.arraycopy(args, 0, full, 1, args.length);
      Run r = run(full);
      assertEquals(2, r.code(), java.util.List.of(args) + ": " + r.out() + r.err());
      assertEquals("disk " + args[0] + ": " + expected + " (name a .vhdx, .avhdx or raw file)",
          r.err().strip(), java.util.List.of(args).toString());
    }
    Run r = run("disk", "convert", disk.toString(), folder.toString());
    assertEquals(2, r.code(), r.out() + r.err());
    assertEquals("disk convert: TARGET '" + folder + "' is a folder; name a file in it, e.g. '"
        + folder.resolve("d.vhdx") + "'", r.err().strip());
  }

  @Test
  void compareReportsTheFirstDifferingOffset() throws IOException {
    Path a = dir.resolve("a.raw");
    Path b = dir.resolve("b.vhdx");
    byte[] content = new byte[4 * 1024 * 1024];
    Files.write(a, content);
    assertEquals(0, run("disk", "create", b.toString(), "--size", "4M").code());
    assertEquals(0, run("disk", "compare", a.toString(), b.toString()).code());
    try (VhdxDisk d = VhdxDisk.open(b, false)) {
      d.write(1024 * 1024 + 4096, ByteBuffer.wrap(pattern(3, 512)));
    }
    Run cmp = run("disk", "compare", a.toString(), b.toString());
    assertEquals(1, cmp.code());
    assertTrue(cmp.out().contains("offset " + (1024 * 1024 + 4096)), cmp.out());
  }

  @Test
  void convertReadsADifferencingSourceThroughItsChain() throws IOException {
    Path parent = dir.resolve("p.vhdx");
    Path child = dir.resolve("c.avhdx");
    byte[] expected = new byte[6 * 1024 * 1024];
    try (VhdxDisk p = VhdxDisk.create(parent, io.replica.spi.storage.DiskSpec.dynamic(
        expected.length), 1024 * 1024)) {
      byte[] data = pattern(4, 3 * 1024 * 1024);
      p.write(0, ByteBuffer.wrap(data));
      System.arraycopy(data, 0, expected, 0, data.length);
    }
    try (VhdxDisk c = VhdxDisk.createChild(child, parent)) {
      byte[] data = pattern(5, 8192);
      c.write(1024 * 1024 + 512, ByteBuffer.wrap(data));
      System.arraycopy(data, 0, expected, 1024 * 1024 + 512, data.length);
    }
    Path raw = dir.resolve("flat.raw");
    Run r = run("disk", "convert", child.toString(), raw.toString());
    assertEquals(0, r.code(), r.err());
    assertTrue(java.util.Arrays.equals(expected, Files.readAllBytes(raw)));
    Path flat = dir.resolve("flat.vhdx");
    assertEquals(0, run("disk", "convert", child.toString(), flat.toString()).code());
    Run info = run("disk", "info", flat.toString(), "--json");
    assertTrue(info.out().contains("\"parentChain\":[]"), info.out());
    assertEquals(0, run("disk", "compare", flat.toString(), child.toString()).code());
  }
}
