package io.replica.testkit.memory;

import static io.replica.testkit.memory.InMemoryVirtualDiskTest.filled;
import static io.replica.testkit.memory.InMemoryVirtualDiskTest.read;
import static io.replica.testkit.memory.InMemoryVirtualDiskTest.write;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replica.spi.storage.AppendLog;
import io.replica.spi.storage.DiskSpec;
import io.replica.spi.storage.StorageLocation;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import org.junit.jupiter.api.Test;

class InMemoryStorageProviderTest {
  private final InMemoryStorageProvider provider = new InMemoryStorageProvider();

  @Test
  void sameLocationStringGivesTheSameLocation() throws IOException {
    StorageLocation a = provider.open("D:\\Replica");
    assertSame(a, provider.open("D:\\Replica"));
    assertSame(a, provider.location("D:\\Replica"));
    assertNotSame(a, provider.open("/srv/replica"));
    assertSame(a.disks(), provider.open("D:\\Replica").disks());
    assertEquals(List.of("/srv/replica", "D:\\Replica"), provider.locationNames());
  }

  @Test
  void blankLocationsAreRefused() {
    assertThrows(IOException.class, () -> provider.open(" "));
    assertThrows(IOException.class, () -> provider.open(""));
    assertThrows(IllegalArgumentException.class, () -> provider.location(""));
    assertThrows(NullPointerException.class, () -> provider.open(null));
  }

  @Test
  void crashCascadesToDisksAndLogsOfEveryLocation() throws IOException {
    InMemoryStorageLocation one = provider.location("one");
    InMemoryStorageLocation two = provider.location("two");
    var disk = one.disks().create("d", DiskSpec.dynamic(1 << 20));
    write(disk, 0, filled(512, 1));
    disk.flush();
    write(disk, 512, filled(512, 2));
    AppendLog log = two.state().openLog("journal");
    log.append(ByteBuffer.wrap(new byte[] {1, 2, 3}));

    provider.simulateCrash();

    assertTrue(!disk.isOpen());
    assertThrows(java.nio.channels.ClosedChannelException.class, log::size);
    provider.checkNoOpenHandles();
    try (var reopened = one.disks().open("d", true); AppendLog journal = two.state().openLog("journal")) {
      assertArrayEquals(filled(512, 1), read(reopened, 0, 512));
      assertArrayEquals(new byte[512], read(reopened, 512, 512));
      assertEquals(0, journal.size());
    }
  }

  @Test
  void leakCheckCoversDisksAndLogsOfAllLocations() throws IOException {
    provider.location("one").disks().create("d", DiskSpec.dynamic(1 << 20));
    provider.location("two").state().openLog("journal");
    IllegalStateException e =
        assertThrows(IllegalStateException.class, provider::checkNoOpenHandles);
    assertTrue(e.getMessage().contains("2 open handle(s)"), e.getMessage());
    assertTrue(e.getMessage().contains("disk 'd'"), e.getMessage());
    assertTrue(e.getMessage().contains("log 'journal'"), e.getMessage());
    IllegalStateException local = assertThrows(IllegalStateException.class,
        () -> provider.location("two").checkNoOpenHandles());
    assertTrue(local.getMessage().contains("1 open handle(s)"), local.getMessage());
  }

  @Test
  void locationCrashWithTornWritesIsDeterministic() throws IOException {
    assertArrayEquals(tornOutcome(5), tornOutcome(5));
  }

  private static byte[] tornOutcome(long seed) throws IOException {
    InMemoryStorageLocation location = new InMemoryStorageLocation("x");
    var disk = location.disks().create("d", DiskSpec.dynamic(1 << 20));
    write(disk, 0, filled(128 * 1024, 9));
    location.simulateCrash(new java.util.SplittableRandom(seed));
    try (var reopened = location.disks().open("d", true)) {
      return reopened.contentSnapshot();
    }
  }
}
