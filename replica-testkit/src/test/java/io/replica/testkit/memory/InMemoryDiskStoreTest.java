package io.replica.testkit.memory;

import static io.replica.testkit.memory.InMemoryVirtualDiskTest.filled;
import static io.replica.testkit.memory.InMemoryVirtualDiskTest.read;
import static io.replica.testkit.memory.InMemoryVirtualDiskTest.write;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replica.spi.storage.ByteRange;
import io.replica.spi.storage.DiskSpec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class InMemoryDiskStoreTest {
  private static final long MIB = 1024L * 1024;
  private static final int CHUNK = 64 * 1024;
  private static final DiskSpec SPEC = DiskSpec.dynamic(4 * MIB);

  private final InMemoryDiskStore store = new InMemoryDiskStore();

  // ---------------------------------------------------------------- names

  @Test
  void createOpenExistsListDelete() throws IOException {
    store.create("vm1/disks/b", SPEC).close();
    store.create("vm1/disks/a", SPEC).close();
    store.create("vm0/boot", SPEC).close();

    assertEquals(List.of("vm0/boot", "vm1/disks/a", "vm1/disks/b"), store.list());
    assertTrue(store.exists("vm1/disks/a"));
    assertFalse(store.exists("vm1/disks/c"));

    try (InMemoryVirtualDisk disk = store.open("vm1/disks/a", true)) {
      assertTrue(disk.isReadOnly());
      assertEquals(SPEC, disk.spec());
    }
    store.delete("vm1/disks/a");
    assertFalse(store.exists("vm1/disks/a"));
    assertEquals(List.of("vm0/boot", "vm1/disks/b"), store.list());
    store.checkNoOpenHandles();
  }

  @Test
  void createOfAnExistingDiskFailsAndChangesNothing() throws IOException {
    try (InMemoryVirtualDisk disk = store.create("d", SPEC)) {
      write(disk, 0, filled(512, 1));
    }
    FileAlreadyExistsException e =
        assertThrows(FileAlreadyExistsException.class, () -> store.create("d", SPEC));
    assertEquals("d", e.getFile());
    try (InMemoryVirtualDisk disk = store.open("d", true)) {
      assertArrayEquals(filled(512, 1), read(disk, 0, 512));
    }
    assertEquals(0, store.openHandleCount());
  }

  @Test
  void openOrDeleteOfAMissingDiskFails() {
    NoSuchFileException e = assertThrows(NoSuchFileException.class, () -> store.open("x", false));
    assertEquals("x", e.getFile());
    assertThrows(NoSuchFileException.class, () -> store.delete("x"));
    assertThrows(NoSuchFileException.class, () -> store.createChild("c", "x"));
    assertThrows(NoSuchFileException.class, () -> store.mergeIntoParent("x"));
  }

  @Test
  void namesAreChecked() {
    for (String bad : List.of("", "/abs", "a/../b", "..", "a\\b", "a//b", ".hidden", "a/")) {
      assertThrows(IllegalArgumentException.class, () -> store.create(bad, SPEC), bad);
      assertThrows(IllegalArgumentException.class, () -> store.open(bad, true), bad);
      assertThrows(IllegalArgumentException.class, () -> store.exists(bad), bad);
      assertThrows(IllegalArgumentException.class, () -> store.delete(bad), bad);
    }
    assertThrows(NullPointerException.class, () -> store.create(null, SPEC));
    assertThrows(NullPointerException.class, () -> store.create("d", null));
  }

  @Test
  void deleteOfAnOpenDiskFails() throws IOException {
    InMemoryVirtualDisk disk = store.create("d", SPEC);
    InMemoryVirtualDisk second = store.open("d", true);
    disk.close();
    FileSystemException e = assertThrows(FileSystemException.class, () -> store.delete("d"));
    assertTrue(e.getMessage().contains("open"), e.getMessage());
    second.close();
    store.delete("d");
  }

  @Test
  void handlesOfOneDiskShareContent() throws IOException {
    try (InMemoryVirtualDisk writer = store.create("d", SPEC);
        InMemoryVirtualDisk reader = store.open("d", true)) {
      write(writer, 4096, filled(4096, 8));
      assertArrayEquals(filled(4096, 8), read(reader, 4096, 4096));
      assertEquals(2, store.openHandleCount());
    }
  }

  @Test
  void deletedDiskIsGoneEvenForAnotherHandle() throws IOException {
    InMemoryVirtualDisk disk = store.create("d", SPEC);
    write(disk, 0, filled(512, 1));
    disk.close();
    store.delete("d");
    assertThrows(NoSuchFileException.class, () -> disk.openAnotherHandle(true));
    try (InMemoryVirtualDisk fresh = store.create("d", SPEC)) {
      assertArrayEquals(new byte[512], read(fresh, 0, 512));
    }
  }

  // ---------------------------------------------------------------- leaks

  @Test
  void leakCheckReportsEachOpenHandleWithWhereItWasOpened() throws IOException {
    store.create("leaky", SPEC);
    store.create("other", SPEC).close();
    store.open("other", true);

    IllegalStateException e = assertThrows(IllegalStateException.class, store::checkNoOpenHandles);

    assertTrue(e.getMessage().contains("2 open handle(s)"), e.getMessage());
    assertTrue(e.getMessage().contains("'leaky' (read-write)"), e.getMessage());
    assertTrue(e.getMessage().contains("'other' (read-only)"), e.getMessage());
    Throwable cause = e.getCause();
    assertTrue(cause.getMessage().contains("'leaky'"), cause.getMessage());
    assertTrue(Arrays.stream(cause.getStackTrace()).anyMatch(frame ->
            frame.getMethodName().equals("leakCheckReportsEachOpenHandleWithWhereItWasOpened")),
        "the cause carries the stack of the test that opened the disk");
    assertEquals(1, e.getSuppressed().length);
    assertTrue(e.getSuppressed()[0].getMessage().contains("'other'"));
  }

  // ---------------------------------------------------------------- crash

  @Test
  void crashInvalidatesHandlesAndKeepsOnlyFlushedWrites() throws IOException {
    InMemoryVirtualDisk disk = store.create("d", SPEC);
    write(disk, 0, filled(512, 1));
    disk.flush();
    write(disk, 512, filled(512, 2));
    InMemoryVirtualDisk reader = store.open("d", true);

    store.simulateCrash();

    ClosedChannelException e =
        assertThrows(ClosedChannelException.class, () -> disk.read(0, ByteBuffer.allocate(512)));
    assertTrue(e.getMessage().contains("simulated crash"), e.getMessage());
    assertThrows(ClosedChannelException.class, () -> reader.write(0, ByteBuffer.allocate(512)));
    assertFalse(reader.isOpen());
    store.checkNoOpenHandles(); // the crash closed them

    try (InMemoryVirtualDisk reopened = store.open("d", false)) {
      assertArrayEquals(filled(512, 1), read(reopened, 0, 512));
      assertArrayEquals(new byte[512], read(reopened, 512, 512));
    }
    assertEquals(List.of("d"), store.list(), "a disk created before the crash survives it");
  }

  @Test
  void closingAnInvalidatedHandleIsHarmless() throws IOException {
    InMemoryVirtualDisk disk = store.create("d", SPEC);
    store.simulateCrash();
    disk.close();
    store.open("d", true).close();
    assertEquals(0, store.openHandleCount());
  }

  @Test
  void closeKeepsDisksForTheNextUser() throws IOException {
    try (InMemoryVirtualDisk disk = store.create("d", SPEC)) {
      write(disk, 0, filled(512, 1));
    }
    store.close();
    try (InMemoryVirtualDisk disk = store.open("d", true)) {
      assertArrayEquals(filled(512, 1), read(disk, 0, 512));
    }
  }

  // ---------------------------------------------------------------- capacity

  @Test
  void storeCapacityIsSharedByItsDisks() throws IOException {
    store.setCapacityBytes(3L * CHUNK);
    try (InMemoryVirtualDisk a = store.create("a", SPEC);
        InMemoryVirtualDisk b = store.create("b", SPEC)) {
      write(a, 0, filled(2 * CHUNK, 1));
      write(b, 0, filled(512, 1));
      IOException e = assertThrows(IOException.class, () -> write(b, CHUNK, filled(512, 1)));
      assertTrue(e.getMessage().startsWith("no space left"), e.getMessage());
      assertEquals(3L * CHUNK, store.allocatedBytes());
    }
    store.delete("a");
    assertEquals(CHUNK, store.allocatedBytes());
    try (InMemoryVirtualDisk b = store.open("b", false)) {
      write(b, CHUNK, filled(512, 1));
    }
  }

  // ---------------------------------------------------------------- differencing

  @Test
  void childReadsThroughToTheParentAndWritesOnlyToItself() throws IOException {
    try (InMemoryVirtualDisk parent = store.create("p", SPEC)) {
      write(parent, 0, filled(2 * CHUNK, 1));
      parent.flush();
    }
    try (InMemoryVirtualDisk child = store.createChild("c", "p")) {
      assertEquals(SPEC, child.spec());
      assertArrayEquals(filled(CHUNK, 1), read(child, 0, CHUNK));
      write(child, 512, filled(512, 2));
      assertArrayEquals(filled(512, 1), read(child, 0, 512), "rest of the chunk from the parent");
      assertArrayEquals(filled(512, 2), read(child, 512, 512));
    }
    try (InMemoryVirtualDisk parent = store.open("p", true)) {
      assertArrayEquals(filled(512, 1), read(parent, 512, 512), "the parent is unchanged");
    }
  }

  @Test
  void parentMayNotBeWrittenOrDeletedWhileItHasAChild() throws IOException {
    store.create("p", SPEC).close();
    store.createChild("c", "p").close();
    try (InMemoryVirtualDisk parent = store.open("p", false)) {
      FileSystemException e = assertThrows(FileSystemException.class,
          () -> parent.write(0, ByteBuffer.allocate(512)));
      assertTrue(e.getMessage().contains("[c]"), e.getMessage());
      assertThrows(FileSystemException.class, () -> parent.trim(0, 512));
    }
    FileSystemException e = assertThrows(FileSystemException.class, () -> store.delete("p"));
    assertTrue(e.getMessage().contains("parent"), e.getMessage());
    store.delete("c");
    store.delete("p");
  }

  @Test
  void childAllocatedRangesAreTheUnionAndTrimMasksTheParent() throws IOException {
    try (InMemoryVirtualDisk parent = store.create("p", SPEC)) {
      write(parent, 0, filled(512, 1));
      write(parent, 2 * CHUNK, filled(512, 1));
    }
    try (InMemoryVirtualDisk child = store.createChild("c", "p")) {
      write(child, 5 * CHUNK, filled(512, 2));
      child.trim(2 * CHUNK, CHUNK);
      assertArrayEquals(new byte[512], read(child, 2 * CHUNK, 512));
      assertEquals(List.of(new ByteRange(0, CHUNK), new ByteRange(5 * CHUNK, CHUNK)),
          child.allocatedRanges());
      child.flush();
      assertArrayEquals(new byte[512], read(child, 2 * CHUNK, 512), "still masked after flush");
    }
  }

  @Test
  void crashOfAChildRevertsToReadingThroughThenParent() throws IOException {
    try (InMemoryVirtualDisk parent = store.create("p", SPEC)) {
      write(parent, 0, filled(CHUNK, 1));
      parent.flush();
    }
    InMemoryVirtualDisk child = store.createChild("c", "p");
    write(child, 0, filled(CHUNK, 2));
    store.simulateCrash(new SplittableRandom(11));
    try (InMemoryVirtualDisk reopened = store.open("c", true)) {
      byte[] content = read(reopened, 0, CHUNK);
      for (int s = 0; s < CHUNK / 512; s++) {
        byte first = content[s * 512];
        assertTrue(first == 1 || first == 2, "sector " + s + " is the parent's or the child's");
        assertArrayEquals(filled(512, first), Arrays.copyOfRange(content, s * 512, s * 512 + 512));
      }
    }
  }

  @Test
  void mergeWritesTheChildIntoTheParentAndDeletesIt() throws IOException {
    try (InMemoryVirtualDisk parent = store.create("p", SPEC)) {
      write(parent, 0, filled(2 * CHUNK, 1));
    }
    try (InMemoryVirtualDisk child = store.createChild("c", "p")) {
      write(child, CHUNK, filled(512, 2));
      write(child, 3 * CHUNK, filled(512, 3));
      child.trim(0, CHUNK);
      child.flush();
    }
    store.mergeIntoParent("c");

    assertEquals(List.of("p"), store.list());
    store.simulateCrash(); // the merge is durable
    try (InMemoryVirtualDisk parent = store.open("p", false)) {
      assertArrayEquals(new byte[CHUNK], read(parent, 0, CHUNK));
      assertArrayEquals(filled(512, 2), read(parent, CHUNK, 512));
      assertArrayEquals(filled(512, 1), read(parent, CHUNK + 512, 512));
      assertArrayEquals(filled(512, 3), read(parent, 3 * CHUNK, 512));
      write(parent, 0, filled(512, 4)); // writable again
    }
  }

  @Test
  void mergeRefusesOpenDisksNonChildrenAndSiblings() throws IOException {
    store.create("p", SPEC).close();
    InMemoryVirtualDisk child = store.createChild("c", "p");
    FileSystemException open = assertThrows(FileSystemException.class,
        () -> store.mergeIntoParent("c"));
    assertTrue(open.getMessage().contains("'c'"), open.getMessage());
    child.close();
    InMemoryVirtualDisk parent = store.open("p", true);
    assertThrows(FileSystemException.class, () -> store.mergeIntoParent("c"));
    parent.close();

    assertThrows(FileSystemException.class, () -> store.mergeIntoParent("p"));

    store.createChild("sibling", "p").close();
    FileSystemException siblings = assertThrows(FileSystemException.class,
        () -> store.mergeIntoParent("c"));
    assertTrue(siblings.getMessage().contains("sibling"), siblings.getMessage());

    store.createChild("grandchild", "c").close();
    store.delete("sibling");
    assertThrows(FileSystemException.class, () -> store.mergeIntoParent("c"));
    store.mergeIntoParent("grandchild");
    store.mergeIntoParent("c");
    assertEquals(List.of("p"), store.list());
  }

  @Test
  void chainOfChildrenReadsThroughEveryLevel() throws IOException {
    try (InMemoryVirtualDisk base = store.create("base", SPEC)) {
      write(base, 0, filled(512, 1));
    }
    try (InMemoryVirtualDisk middle = store.createChild("middle", "base")) {
      write(middle, CHUNK, filled(512, 2));
    }
    try (InMemoryVirtualDisk top = store.createChild("top", "middle")) {
      assertArrayEquals(filled(512, 1), read(top, 0, 512));
      assertArrayEquals(filled(512, 2), read(top, CHUNK, 512));
      assertEquals(List.of(new ByteRange(0, 2L * CHUNK)), top.allocatedRanges());
    }
  }

  @Test
  void childNamesAreChecked() throws IOException {
    store.create("p", SPEC).close();
    assertThrows(IllegalArgumentException.class, () -> store.createChild("../c", "p"));
    assertThrows(FileAlreadyExistsException.class, () -> store.createChild("p", "p"));
    assertInstanceOf(InMemoryVirtualDisk.class, store.createChild("c", "p")).close();
  }
}
