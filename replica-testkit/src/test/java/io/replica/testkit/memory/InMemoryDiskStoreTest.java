package io.replica.testkit.memory;

import static io.replica.testkit.memory.InMemoryVirtualDiskTest.filled;
import static io.replica.testkit.memory.InMemoryVirtualDiskTest.read;
import static io.replica.testkit.memory.InMemoryVirtualDiskTest.write;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replica.spi.storage.DiskSpec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.util.Arrays;
import java.util.List;
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
  void closeRevokesHandlesThatStillCountAsLeaksUntilClosed() throws IOException {
    InMemoryVirtualDisk disk = store.create("vm/d", SPEC);
    write(disk, 0, filled(512, 1));
    store.close();
    ClosedChannelException e =
        assertThrows(ClosedChannelException.class, () -> read(disk, 0, 512));
    assertTrue(e.getMessage().contains("'vm/d'") && e.getMessage().contains("was closed"),
        e.getMessage());
    IllegalStateException leak = assertThrows(IllegalStateException.class,
        store::checkNoOpenHandles, "a handle nobody closed is a leak even after the store closed");
    assertTrue(leak.getMessage().contains("vm/d"), leak.getMessage());
    disk.close();
    store.checkNoOpenHandles();
    IllegalStateException closed =
        assertThrows(IllegalStateException.class, () -> store.open("vm/d", true));
    assertTrue(closed.getMessage().contains("is closed"), closed.getMessage());
    store.close();
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
}
