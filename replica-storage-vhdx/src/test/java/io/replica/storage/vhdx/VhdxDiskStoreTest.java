package io.replica.storage.vhdx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replica.spi.storage.ByteRange;
import io.replica.spi.storage.DiskSpec;
import io.replica.spi.storage.VirtualDisk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What {@link VhdxDiskStore} offers beyond the storage SPI: differencing children, their merge,
 * and the listing that operators' tools use; and what its close does to handles left open.
 */
class VhdxDiskStoreTest {

  private static final int MIB = 1 << 20;
  private static final DiskSpec SPEC = new DiskSpec(4L * MIB + 5 * 512, 512, 4096, false);

  @TempDir Path dir;
  private VhdxDiskStore store;

  @BeforeEach
  void open() throws IOException {
    store = new VhdxDiskStore(dir.resolve("store"));
  }

  @AfterEach
  void close() throws IOException {
    store.close();
  }

  @Test
  void childReadsAsItsParentKeepsItsWritesAndNeverWritesTheParent() throws IOException {
    byte[] parent = parentWithData("vm-1/disks/p");
    try (VirtualDisk child = store.createChild("vm-1/failover/c", "vm-1/disks/p")) {
      assertFalse(child.isReadOnly());
      assertEquals(SPEC.sizeBytes(), child.sizeBytes());
      assertArrayEquals(parent, readAll(child), "a new child reads as its parent");
      assertCovers(child);
      write(child, 8 * 512, Tools.pattern(2, 16 * 512));
      write(child, 2 * MIB, Tools.pattern(3, 8 * 512));
      child.flush();
    }
    byte[] expected = parent.clone();
    System.arraycopy(Tools.pattern(2, 16 * 512), 0, expected, 8 * 512, 16 * 512);
    System.arraycopy(Tools.pattern(3, 8 * 512), 0, expected, 2 * MIB, 8 * 512);
    for (boolean readOnly : new boolean[] {false, true}) {
      try (VirtualDisk reopened = store.open("vm-1/failover/c", readOnly)) {
        assertArrayEquals(expected, readAll(reopened), "a reopened child keeps its writes");
        assertCovers(reopened);
      }
    }
    try (VirtualDisk p = store.open("vm-1/disks/p", true)) {
      assertArrayEquals(parent, readAll(p), "writes to a child never reach its parent");
    }
    assertTrue(Files.isRegularFile(store.root().resolve("vm-1/failover/c.avhdx")));
  }

  @Test
  void parentWithAChildCannotBeDeletedUntilTheChildIsGone() throws IOException {
    byte[] parent = parentWithData("p");
    store.createChild("c", "p").close();
    FileSystemException e = assertThrows(FileSystemException.class, () -> store.delete("p"));
    assertTrue(e.getMessage().contains("parent of a differencing disk"), e.getMessage());
    store.delete("c");
    assertFalse(store.exists("c"));
    try (VirtualDisk p = store.open("p", false)) {
      assertArrayEquals(parent, readAll(p), "dropping a child leaves the parent as it was");
      write(p, 0, Tools.pattern(4, 512));
    }
    store.delete("p");
    assertFalse(store.exists("p"));
  }

  @Test
  void mergeWritesTheChildIntoItsParentAndDeletesIt() throws IOException {
    parentWithData("p");
    byte[] expected;
    try (VirtualDisk child = store.createChild("c", "p")) {
      write(child, 3 * MIB, Tools.pattern(5, 64 * 1024));
      child.flush();
      expected = readAll(child);
    }
    VirtualDisk busy = store.open("c", true);
    assertThrows(FileSystemException.class, () -> store.mergeIntoParent("c"));
    busy.close();
    store.mergeIntoParent("c");
    assertFalse(store.exists("c"));
    assertEquals(List.of("p"), store.list());
    try (VirtualDisk p = store.open("p", true)) {
      assertArrayEquals(expected, readAll(p), "after the merge the parent reads as the child did");
    }
    assertThrows(IllegalArgumentException.class, () -> store.mergeIntoParent("p"));
  }

  @Test
  void listIsSortedByNameWhateverTheFolderOrder() throws IOException {
    for (String name : List.of("vm-2/disks/b", "vm-10/a", "vm-1/a", "vm-1.x", "vm-1-b", "a")) {
      store.create(name, SPEC).close();
    }
    store.createChild("vm-1/a-child", "vm-1/a").close();
    Files.writeString(store.root().resolve("vm-1/.not-ours.vhdx"), "x");
    assertEquals(
        List.of("a", "vm-1-b", "vm-1.x", "vm-1/a", "vm-1/a-child", "vm-10/a", "vm-2/disks/b"),
        store.list());
  }

  @Test
  void closeRevokesOpenHandlesWithAMessageThatNamesTheStoreAndTheDisk() throws IOException {
    VirtualDisk disk = store.create("vm-1/disks/d", SPEC);
    store.close();
    ClosedChannelException e = assertThrows(
        ClosedChannelException.class, () -> disk.read(2L * MIB, ByteBuffer.allocate(512)));
    assertTrue(e.getMessage().contains(store.root().toString())
        && e.getMessage().contains("vm-1/disks/d"), e.getMessage());
    disk.close();
    IllegalStateException closed =
        assertThrows(IllegalStateException.class, () -> store.createChild("c", "vm-1/disks/d"));
    assertTrue(closed.getMessage().contains("is closed"), closed.getMessage());
  }

  private byte[] parentWithData(String name) throws IOException {
    try (VirtualDisk parent = store.create(name, SPEC)) {
      write(parent, 0, Tools.pattern(1, 16 * 512));
      write(parent, 3L * MIB, Tools.pattern(6, 64 * 1024));
      parent.flush();
      return readAll(parent);
    }
  }

  private static void write(VirtualDisk disk, long at, byte[] data) throws IOException {
    disk.write(at, ByteBuffer.wrap(data));
  }

  private static byte[] readAll(VirtualDisk disk) throws IOException {
    byte[] all = new byte[(int) disk.sizeBytes()];
    disk.read(0, ByteBuffer.wrap(all));
    return all;
  }

  /** Every byte that reads non-zero lies inside the reported allocation, the parent's included. */
  private static void assertCovers(VirtualDisk disk) throws IOException {
    byte[] all = readAll(disk);
    List<ByteRange> ranges = disk.allocatedRanges();
    for (int i = 0; i < all.length; i++) {
      if (all[i] != 0) {
        long at = i;
        assertTrue(ranges.stream().anyMatch(r -> r.offsetBytes() <= at && at < r.endBytes()),
            "byte " + i + " reads non-zero outside " + ranges);
      }
    }
  }
}
