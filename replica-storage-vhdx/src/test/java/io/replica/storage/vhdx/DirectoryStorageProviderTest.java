package io.replica.storage.vhdx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replica.spi.storage.DiskSpec;
import io.replica.spi.storage.StorageLocation;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DirectoryStorageProviderTest {

  @TempDir Path dir;

  @Test
  void disksAndStateShareOneFolderWithoutSeeingEachOther() throws Exception {
    DirectoryStorageProvider provider = new DirectoryStorageProvider();
    StorageLocation location = provider.open(dir.resolve("site").toString());
    assertSame(location, provider.open(dir.resolve("site/.").toString()));
    location.disks().create("vm-1/disks/d1", DiskSpec.dynamic(4L << 20)).close();
    location.state().write("vm-1/replica.json", new byte[] {'{', '}'});
    try (var log = location.state().openLog("vm-1/journal/cycle-1.log")) {
      log.append(java.nio.ByteBuffer.wrap(new byte[] {1, 2, 3}));
      log.sync();
    }
    assertEquals(List.of("vm-1/disks/d1"), ((VhdxDiskStore) location.disks()).list());
    assertEquals(List.of("vm-1/journal/cycle-1.log", "vm-1/replica.json"),
        location.state().list(""));
    assertTrue(Files.isRegularFile(dir.resolve("site/vm-1/disks/d1.vhdx")));
    assertArrayEquals(new byte[] {'{', '}'}, location.state().read("vm-1/replica.json")
        .orElseThrow());
    location.disks().close();
  }

  @Test
  void closeClosesEveryDiskStoreItHandedOut() throws Exception {
    DirectoryStorageProvider provider = new DirectoryStorageProvider();
    StorageLocation one = provider.open(dir.resolve("one").toString());
    StorageLocation two = provider.open(dir.resolve("two").toString());
    var disk = one.disks().create("vm-1/disks/d", DiskSpec.dynamic(4L << 20));
    provider.close();
    assertThrows(java.nio.channels.ClosedChannelException.class,
        () -> disk.read(0, java.nio.ByteBuffer.allocate(512)));
    disk.close();
    assertThrows(IllegalStateException.class, () -> two.disks().exists("vm-1/disks/d"));
    assertThrows(IllegalStateException.class, () -> provider.open(dir.resolve("one").toString()));
    provider.close();
  }
}
