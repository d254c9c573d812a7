package io.replica.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replica.api.DiskId;
import io.replica.api.HealthState;
import io.replica.api.ReplicaServerSettings;
import io.replica.api.ReplicationManager;
import io.replica.api.ReplicationSettings;
import io.replica.api.ReplicationState;
import io.replica.api.VerificationResult;
import io.replica.api.VirtualMachine;
import io.replica.api.VmDisk;
import io.replica.api.VmId;
import io.replica.api.event.ReplicationEvent;
import io.replica.core.ReplicaEngine;
import io.replica.spi.storage.DiskSpec;
import io.replica.spi.storage.VirtualDisk;
import io.replica.storage.vhdx.DirectoryStorageProvider;
import io.replica.testkit.memory.InMemoryNetwork;
import io.replica.testkit.memory.InMemoryVirtualDisk;
import io.replica.testkit.time.ManualClock;
import io.replica.testkit.time.ManualScheduler;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Online verify on a replica kept in real VHDX files: a byte changed in the file is found and repaired. */
class VhdxVerifyTest {
  private static final String PRIMARY = "hv1.contoso.com";
  private static final String REPLICA = "hv2.fabrikam.com";
  private static final long DISK = 8L << 20;

  @TempDir
  Path folder;

  @Test
  void aByteChangedInTheReplicaVhdxFileIsReportedWithItsRangeAndRepaired() throws Exception {
    ManualClock clock = new ManualClock(Instant.parse("2026-01-01T00:00:00Z"));
    ManualScheduler scheduler = new ManualScheduler(clock);
    InMemoryNetwork network = new InMemoryNetwork(scheduler);
    Path replicas = folder.resolve("replicas");
    try (ReplicationManager replica = ReplicaEngine.builder().hostName(REPLICA).clock(clock).scheduler(scheduler)
            .transport(network.transport(REPLICA)).storage(new DirectoryStorageProvider()).build();
        ReplicationManager primary = ReplicaEngine.builder().hostName(PRIMARY).clock(clock).scheduler(scheduler)
            .transport(network.transport(PRIMARY)).build()) {
      List<ReplicationEvent> events = new CopyOnWriteArrayList<>();
      primary.addListener(events::add);
      replica.setReplicaServerSettings(ReplicaServerSettings.builder()
          .allowAnyAuthenticatedServer(replicas.toString()).build());
      DiskId diskId = DiskId.of(UUID.nameUUIDFromBytes("vhdx-verify-disk".getBytes()));
      VirtualDisk disk = InMemoryVirtualDisk.create(DiskSpec.dynamic(DISK));
      VirtualMachine vm = new VirtualMachine(VmId.of(UUID.nameUUIDFromBytes("vhdx-verify".getBytes())), "db01",
          List.of(new VmDisk(diskId, disk, true)));
      // A block whose bytes occur nowhere else, so that it can be found in the replica's file.
      long offset = 3L << 20;
      byte[] marked = new byte[4096];
      new Random(5).nextBytes(marked);
      disk.write(offset, ByteBuffer.wrap(marked));
      disk.write(1L << 20, ByteBuffer.wrap(new byte[65536]).put(0, (byte) 7));
      primary.enableReplication(vm, ReplicationSettings.builder(REPLICA)
          .replicationFrequency(Duration.ofSeconds(30)).build());
      scheduler.runUntilIdle();
      CompletableFuture<Void> initial = primary.startInitialReplication(vm.id());
      scheduler.runUntilIdle();
      initial.join();
      primary.changeTracker(vm.id()).trackedDisk(diskId).write(0, ByteBuffer.wrap(new byte[4096]).put(0, (byte) 1));
      scheduler.advance(Duration.ofSeconds(30));

      // A byte of that block changes in the .vhdx file, behind the engine's back.
      Path file;
      try (Stream<Path> files = Files.walk(replicas)) {
        file = files.filter(p -> p.toString().endsWith(".vhdx") && p.toString().contains(diskId.toString()))
            .findFirst().orElseThrow();
      }
      long at = find(file, marked);
      try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
        ch.write(ByteBuffer.wrap(new byte[] {(byte) ~marked[1000]}), at + 1000);
        ch.force(true);
      }

      VerificationResult found = run(scheduler, primary.verify(vm.id()));
      assertEquals(List.of(new VerificationResult.DifferingRange(diskId, offset, 4096)), found.differences(),
          "the changed block, and only it, differs");
      assertEquals(DISK, found.comparedBytes());
      // Health turned critical naming the range, until the resynchronization of that range completed.
      String range = diskId + " [" + offset + ", " + (offset + 4096) + ")";
      assertTrue(events.stream().anyMatch(e -> e instanceof ReplicationEvent.HealthChanged h
          && h.health().state() == HealthState.CRITICAL && h.health().reasons().get(0).contains(range)), events::toString);
      assertTrue(events.stream().anyMatch(e -> e instanceof ReplicationEvent.VerifyCompleted v
          && v.result().equals(found)), events::toString);

      for (int i = 0; i < 20 && (primary.state(vm.id()) != ReplicationState.REPLICATING
          || primary.health(vm.id()).state() != HealthState.NORMAL); i++) {
        scheduler.advance(Duration.ofSeconds(10));
      }
      assertEquals(ReplicationState.REPLICATING, primary.state(vm.id()));
      assertEquals(HealthState.NORMAL, primary.health(vm.id()).state(), primary.health(vm.id()).toString());
      assertEquals(at, find(file, marked), "the resynchronization wrote the block back");
      VerificationResult again = run(scheduler, primary.verify(vm.id()));
      assertTrue(again.matches(), "nothing differs after the repair: " + again.differences());
    }
  }

  private static VerificationResult run(ManualScheduler scheduler, CompletableFuture<VerificationResult> f) {
    for (int i = 0; i < 60 && !f.isDone(); i++) {
      scheduler.advance(Duration.ofSeconds(1));
    }
    assertTrue(f.isDone(), "verify did not complete");
    return f.join();
  }

  /** Where {@code block} starts in the file, or -1. */
  private static long find(Path file, byte[] block) throws IOException {
    byte[] bytes = Files.readAllBytes(file);
    for (int i = 0; i + block.length <= bytes.length; i += 512) {
      if (bytes[i] == block[0] && Arrays.equals(bytes, i, i + block.length, block, 0, block.length)) {
        return i;
      }
    }
    return -1;
  }
}
