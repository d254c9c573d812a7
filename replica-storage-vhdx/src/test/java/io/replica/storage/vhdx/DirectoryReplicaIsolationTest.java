package io.replica.storage.vhdx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replica.api.AuthenticationType;
import io.replica.api.DiskId;
import io.replica.api.HealthState;
import io.replica.api.RecoveryPoint;
import io.replica.api.RecoveryPointView;
import io.replica.api.ReplicaServerSettings;
import io.replica.api.ReplicationManager;
import io.replica.api.ReplicationSettings;
import io.replica.api.ReplicationState;
import io.replica.api.VirtualMachine;
import io.replica.api.VmDisk;
import io.replica.api.VmId;
import io.replica.core.ReplicaEngine;
import io.replica.spi.storage.DiskSpec;
import io.replica.spi.storage.VirtualDisk;
import io.replica.testkit.memory.InMemoryNetwork;
import io.replica.testkit.memory.InMemoryStorageProvider;
import io.replica.testkit.memory.InMemoryVirtualDisk;
import io.replica.testkit.time.ManualClock;
import io.replica.testkit.time.ManualScheduler;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A replica host on real files: one machine's {@code replica.json} is garbage after a restart, and
 * the host's other machine loads and keeps replicating while the broken one is Critical.
 */
class DirectoryReplicaIsolationTest {
  private static final String PRIMARY = "hv1.contoso.com";
  private static final String REPLICA = "hv2.fabrikam.com";
  private static final long DISK = 1L << 20;
  private static final Duration CYCLE = Duration.ofSeconds(30);

  @TempDir Path dir;

  private final ManualClock clock = new ManualClock(Instant.parse("2026-01-01T00:00:00Z"));
  private final ManualScheduler scheduler = new ManualScheduler(clock);
  private final InMemoryNetwork network = new InMemoryNetwork(scheduler);

  @Test
  void aGarbageReplicaJsonOnDiskLeavesTheOtherMachineReplicating() throws Exception {
    Path location = dir.resolve("replicas");
    ReplicaServerSettings server = ReplicaServerSettings.builder()
        .allowedAuthenticationTypes(Set.of(AuthenticationType.KERBEROS))
        .allowAnyAuthenticatedServer(location.toString()).build();
    ReplicationManager primary = ReplicaEngine.builder().hostName(PRIMARY).clock(clock)
        .scheduler(scheduler).transport(network.transport(PRIMARY))
        .storage(new InMemoryStorageProvider()).build();
    ReplicationManager replica = startReplica(server);
    try {
      VirtualMachine web = vm("web01");
      VirtualMachine db = vm("db01");
      ReplicationSettings settings = ReplicationSettings.builder(REPLICA)
          .authenticationType(AuthenticationType.KERBEROS).replicationFrequency(CYCLE).build();
      for (VirtualMachine vm : List.of(web, db)) {
        await(primary.enableReplication(vm, settings));
        await(primary.startInitialReplication(vm.id()));
      }
      Path broken = location.resolve(web.id() + "/replica.json");
      assertTrue(Files.isRegularFile(broken), "the state document is a file: " + broken);
      Files.writeString(broken, "\u0000\u0000garbage after a bad sector");

      network.faults().crash(REPLICA);
      replica.close();
      scheduler.runUntilIdle();
      replica = startReplica(server);

      assertEquals(ReplicationState.ERROR, replica.state(web.id()));
      assertEquals(HealthState.CRITICAL, replica.health(web.id()).state());
      String reason = replica.health(web.id()).reasons().get(0);
      assertTrue(reason.contains(web.id().toString()) && reason.contains(broken.toString())
          && reason.contains("restore the file from a backup"), reason);

      assertEquals(ReplicationState.REPLICATING, replica.state(db.id()));
      Random r = new Random(3);
      for (int i = 0; i < 3; i++) {
        byte[] data = new byte[4096];
        r.nextBytes(data);
        primary.changeTracker(db.id()).trackedDisk(db.disks().get(0).id())
            .write((long) r.nextInt((int) (DISK / 4096)) * 4096, ByteBuffer.wrap(data));
        scheduler.advance(CYCLE);
      }
      scheduler.advance(CYCLE);
      scheduler.runUntilIdle();
      assertEquals(HealthState.NORMAL, replica.health(db.id()).state());
      List<RecoveryPoint> points = replica.recoveryPoints(db.id());
      try (RecoveryPointView view = replica.openRecoveryPoint(points.get(points.size() - 1))) {
        assertArrayEquals(content(db.disks().get(0).disk()),
            content(view.disks().get(db.disks().get(0).id())),
            "the other machine's replica on VHDX equals its primary");
      }
    } finally {
      primary.close();
      replica.close();
      scheduler.runUntilIdle();
    }
  }

  private ReplicationManager startReplica(ReplicaServerSettings server) throws IOException {
    ReplicationManager m = ReplicaEngine.builder().hostName(REPLICA).clock(clock)
        .scheduler(scheduler).transport(network.transport(REPLICA))
        .storage(new DirectoryStorageProvider()).build();
    m.setReplicaServerSettings(server);
    scheduler.runUntilIdle();
    return m;
  }

  private static VirtualMachine vm(String name) {
    VirtualDisk disk = InMemoryVirtualDisk.create(DiskSpec.dynamic(DISK));
    DiskId id = DiskId.of(UUID.nameUUIDFromBytes((name + "-disk").getBytes()));
    return new VirtualMachine(VmId.of(UUID.nameUUIDFromBytes(name.getBytes())), name,
        List.of(new VmDisk(id, disk, true)));
  }

  private <T> T await(CompletableFuture<T> future) {
    scheduler.runUntilIdle();
    assertTrue(future.isDone(), "the operation did not complete");
    return future.join();
  }

  private static byte[] content(VirtualDisk disk) throws IOException {
    byte[] bytes = new byte[Math.toIntExact(disk.sizeBytes())];
    disk.read(0, ByteBuffer.wrap(bytes));
    return bytes;
  }
}
