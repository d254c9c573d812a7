package io.replica.storage.vhdx;

import static io.replica.storage.vhdx.Tools.pattern;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.replica.spi.storage.DiskSpec;
import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * How a differencing disk finds its parent through the locator's relative and absolute paths,
 * and how a writable open brings a stale entry up to date while a read-only open writes nothing.
 */
class ParentLocatorTest {

  private static final int MIB = 1024 * 1024;
  private static final byte[] PARENT_DATA = pattern(21, 3 * MIB);
  private static final byte[] CHILD_DATA = pattern(22, 8192);

  @TempDir Path dir;

  /** A parent with data and a child over it in {@code folder}. */
  private static Path pair(Path folder) throws IOException {
    Files.createDirectories(folder);
    Path parent = folder.resolve("parent.vhdx");
    try (VhdxDisk p = VhdxDisk.create(parent, new DiskSpec(4L * MIB, 512, 4096, false), MIB)) {
      p.write(0, ByteBuffer.wrap(PARENT_DATA));
    }
    Path child = folder.resolve("child.avhdx");
    try (VhdxDisk c = VhdxDisk.createChild(child, parent)) {
      c.write(MIB + 512, ByteBuffer.wrap(CHILD_DATA));
    }
    return child;
  }

  private static Map<String, String> entries(Path child) throws IOException {
    try (VhdxDisk d = VhdxDisk.open(child, true)) {
      return d.file().metadata().parentLocator().entries();
    }
  }

  private static UUID dataWriteGuid(Path file) throws IOException {
    try (VhdxDisk d = VhdxDisk.open(file, true)) {
      return d.dataWriteGuid();
    }
  }

  /** Opens the child and checks that it reads the parent's data with its own on top. */
  private static void assertReadsThroughParent(Path child, boolean readOnly, Path parent)
      throws IOException {
    try (VhdxDisk d = VhdxDisk.open(child, readOnly)) {
      assertEquals(parent.toRealPath(), d.parentPath().orElseThrow().toRealPath());
      byte[] expected = PARENT_DATA.clone();
      System.arraycopy(CHILD_DATA, 0, expected, MIB + 512, CHILD_DATA.length);
      ByteBuffer actual = ByteBuffer.allocate(expected.length);
      d.read(0, actual);
      assertArrayEquals(expected, actual.array());
    }
  }

  private static String absolute(Path p) {
    return "\\\\?\\" + p.toAbsolutePath().normalize().toString().replace(File.separatorChar, '\\');
  }

  @Test
  void aChildRecordsTheRelativeAndTheAbsolutePathOfItsParent() throws IOException {
    Path child = pair(dir.resolve("a"));
    Path parent = dir.resolve("a").resolve("parent.vhdx");
    Map<String, String> e = entries(child);
    assertEquals("parent.vhdx", e.get("relative_path"));
    assertEquals(absolute(parent), e.get("absolute_win32_path"));
    assertEquals(parent.toAbsolutePath(), ParentPaths.resolve(child, "absolute_win32_path",
        e.get("absolute_win32_path")));

    Path nested = dir.resolve("b").resolve("c").resolve("child.avhdx");
    Files.createDirectories(nested.getParent());
    try (VhdxDisk c = VhdxDisk.createChild(nested, parent)) {
      c.write(MIB + 512, ByteBuffer.wrap(CHILD_DATA));
    }
    assertEquals("..\\..\\a\\parent.vhdx", entries(nested).get("relative_path"));
    assertReadsThroughParent(nested, true, parent);
  }

  @Test
  void aPairMovedTogetherIsFoundByTheRelativePathAndGetsItsAbsolutePathRewritten()
      throws IOException {
    Path child = pair(dir.resolve("a"));
    Map<String, String> before = entries(child);
    Files.move(dir.resolve("a"), dir.resolve("b"));
    Path moved = dir.resolve("b").resolve("child.avhdx");
    Path parent = dir.resolve("b").resolve("parent.vhdx");
    UUID dataWrite = dataWriteGuid(moved);

    assertReadsThroughParent(moved, false, parent);

    Map<String, String> after = entries(moved);
    assertEquals(absolute(parent), after.get("absolute_win32_path"));
    assertEquals(before.get("relative_path"), after.get("relative_path"));
    assertEquals(before.get("parent_linkage"), after.get("parent_linkage"));
    assertEquals(dataWrite, dataWriteGuid(moved), "the data did not change");
    // The rewritten absolute path is what finds the parent once the child moves on alone.
    Files.createDirectories(dir.resolve("c"));
    Path alone = Files.move(moved, dir.resolve("c").resolve("child.avhdx"));
    assertReadsThroughParent(alone, true, parent);
  }

  @Test
  void aChildMovedAloneIsFoundByTheAbsolutePathAndGetsItsRelativePathRewritten()
      throws IOException {
    Path child = pair(dir.resolve("a"));
    Path parent = dir.resolve("a").resolve("parent.vhdx");
    Map<String, String> before = entries(child);
    Files.createDirectories(dir.resolve("b"));
    Path moved = Files.move(child, dir.resolve("b").resolve("child.avhdx"));

    assertReadsThroughParent(moved, false, parent);

    Map<String, String> after = entries(moved);
    assertEquals("..\\a\\parent.vhdx", after.get("relative_path"));
    assertEquals(before.get("absolute_win32_path"), after.get("absolute_win32_path"));
    // Both entries lead to the parent now: the next open writes nothing.
    byte[] settled = Files.readAllBytes(moved);
    assertReadsThroughParent(moved, false, parent);
    assertArrayEquals(settled, Files.readAllBytes(moved));
  }

  @Test
  void aChildWithOnlyARelativePathGetsTheAbsoluteOneOnAWritableOpen() throws IOException {
    // As an older Replica wrote them on POSIX.
    Path child = pair(dir.resolve("a"));
    Path parent = dir.resolve("a").resolve("parent.vhdx");
    removeAbsolutePath(child);
    assertNull(entries(child).get("absolute_win32_path"));
    assertReadsThroughParent(child, false, parent);
    assertEquals(absolute(parent), entries(child).get("absolute_win32_path"));
  }

  @Test
  void aReadOnlyOpenWritesNothing() throws IOException {
    pair(dir.resolve("a"));
    Files.move(dir.resolve("a"), dir.resolve("b"));
    Path movedPair = dir.resolve("b").resolve("child.avhdx");
    byte[] before = Files.readAllBytes(movedPair);
    assertReadsThroughParent(movedPair, true, dir.resolve("b").resolve("parent.vhdx"));
    assertArrayEquals(before, Files.readAllBytes(movedPair), "pair moved, read-only open");

    Files.createDirectories(dir.resolve("c"));
    Path alone = Files.move(movedPair, dir.resolve("c").resolve("child.avhdx"));
    Files.move(dir.resolve("b"), dir.resolve("a"));
    before = Files.readAllBytes(alone);
    assertReadsThroughParent(alone, true, dir.resolve("a").resolve("parent.vhdx"));
    assertArrayEquals(before, Files.readAllBytes(alone), "child moved, read-only open");
  }

  @Test
  void anInterruptedRewriteLeavesTheOldOrTheNewLocator() throws IOException {
    Path template = pair(dir.resolve("a"));
    Path parent = dir.resolve("a").resolve("parent.vhdx");
    Map<String, String> old = entries(template);
    Files.createDirectories(dir.resolve("b"));
    Path child = dir.resolve("b").resolve("child.avhdx");
    Files.copy(template, child);
    FaultyChannel counter = new FaultyChannel(open(child), Long.MAX_VALUE, false);
    VhdxFile.open(child, counter, true).close();
    Map<String, String> fresh = entries(child);
    assertNotEquals(old, fresh);
    long total = counter.writes();
    assertTrue(total > 2, "the rewrite takes header, log and metadata writes, not " + total);

    for (boolean tear : new boolean[] {false, true}) {
      for (long k = 1; k <= total; k++) {
        Files.copy(template, child, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        FaultyChannel ch = new FaultyChannel(open(child), k, tear);
        try {
          VhdxFile.open(child, ch, true).close();
          fail("write " + k + " of " + total + " was to fail");
        } catch (IOException crash) {
          // expected
        } finally {
          ch.close();
        }
        String when = "after a " + (tear ? "torn" : "lost") + " write " + k + " of " + total;
        assertReadsThroughParent(child, true, parent);
        Map<String, String> now;
        now = entries(child);
        assertTrue(now.equals(old) || now.equals(fresh), "the locator is half-written " + when
            + ": " + now);
        assertReadsThroughParent(child, false, parent);
        assertEquals(fresh, entries(child), "a writable open completes the rewrite " + when);
      }
    }
  }

  @Test
  void absolutePathsFromOtherPlatformsAreSkipped() {
    Path child = dir.resolve("child.avhdx");
    String key = "absolute_win32_path";
    if (File.separatorChar == '/') {
      assertNull(ParentPaths.resolve(child, key, "\\\\?\\C:\\vms\\parent.vhdx"));
      assertNull(ParentPaths.resolve(child, key, "\\\\?\\UNC\\server\\share\\parent.vhdx"));
      assertNull(ParentPaths.resolve(child, key, "\\\\server\\share\\parent.vhdx"));
      assertEquals(Path.of("/srv/vms/parent.vhdx"),
          ParentPaths.resolve(child, key, "\\\\?\\\\srv\\vms\\parent.vhdx"));
    }
    assertNull(ParentPaths.resolve(child, key, "parent.vhdx"), "not absolute");
    assertNull(ParentPaths.resolve(child, key, "a\u0000b"), "no path");
    assertNull(ParentPaths.resolve(child, key, null));
    assertEquals(dir.resolve("p.vhdx").toAbsolutePath(),
        ParentPaths.resolve(child, key, ParentPaths.of(child, dir.resolve("p.vhdx")).get(key)));
  }

  /** Rewrites the child's locator without the absolute entry, through our own writer. */
  private static void removeAbsolutePath(Path child) throws IOException {
    byte[] file = Files.readAllBytes(child);
    try (VhdxDisk d = VhdxDisk.open(child, true)) {
      VhdxFile f = d.file();
      Map<String, String> kv = new java.util.LinkedHashMap<>(f.metadata().parentLocator()
          .entries());
      kv.remove("absolute_win32_path");
      byte[] item = new ParentLocator(ParentLocator.VHDX_TYPE, kv).encode();
      long at = f.metadata().parentLocatorFileOffset();
      Metadata.Item entry = f.metadata().items().stream()
          .filter(i -> i.id().equals(Metadata.PARENT_LOCATOR)).findFirst().orElseThrow();
      int index = f.metadata().items().indexOf(entry);
      long table = f.regions().find(RegionTable.METADATA).fileOffset();
      System.arraycopy(item, 0, file, (int) at, item.length);
      Le.put32(file, (int) (table + 32 + 32L * index + 20), item.length);
    }
    Files.write(child, file);
  }

  private static FileChannel open(Path file) throws IOException {
    return FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
  }
}
