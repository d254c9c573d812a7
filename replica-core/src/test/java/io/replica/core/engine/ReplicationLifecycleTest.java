package io.replica.core.engine;

import static io.replica.core.engine.TwoHosts.PRIMARY;
import static io.replica.core.engine.TwoHosts.REPLICA;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replica.api.AuthorizationEntry;
import io.replica.api.HealthState;
import io.replica.api.NotFoundException;
import io.replica.api.ReplicaServerSettings;
import io.replica.api.ReplicationMode;
import io.replica.api.ReplicationState;
import io.replica.api.ReplicationStatistics;
import io.replica.api.VirtualMachine;
import io.replica.api.event.ReplicationEvent;
import io.replica.spi.transport.Message;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Suspend and resume, lost connections, replica crashes, removal, statistics and health. */
class ReplicationLifecycleTest {
  private static final long DISK = 1L << 20;
  private static final Duration CYCLE = Duration.ofSeconds(30);

  private static byte[] random(Random r, int length) {
    byte[] b = new byte[length];
    r.nextBytes(b);
    return b;
  }

  private static void writeSome(TwoHosts hosts, VirtualMachine vm, Random r, int count) throws Exception {
    for (int i = 0; i < count; i++) {
      int disk = r.nextInt(vm.disks().size());
      long offset = (long) r.nextInt((int) (DISK / 4096)) * 4096;
      hosts.write(vm, disk, offset, random(r, 4096));
    }
  }

  /** Lets cycles run until the replica holds what the primary holds now (no writes meanwhile). */
  private static void catchUp(TwoHosts hosts, VirtualMachine vm) throws Exception {
    List<byte[]> expected = hosts.primaryContent(vm);
    for (int i = 0; i < 50 && hosts.primary.changeTracker(vm.id()).pendingBytes() > 0; i++) {
      hosts.scheduler.advance(CYCLE);
    }
    hosts.scheduler.advance(CYCLE);
    hosts.assertReplicaEquals(expected, vm, "after catching up");
  }

  @Test
  void suspendAndResumeLoseNothing() throws Exception {
    try (TwoHosts hosts = new TwoHosts()) {
      VirtualMachine vm = hosts.newVm("app", DISK, DISK);
      hosts.replicate(vm, TwoHosts.settings().build());
      Random r = new Random(7);
      hosts.await(hosts.primary.suspendReplication(vm.id()));
      assertEquals(ReplicationState.SUSPENDED, hosts.primary.state(vm.id()));
      long sentBefore = hosts.payloadBytesSent();
      writeSome(hosts, vm, r, 40);
      hosts.scheduler.advance(CYCLE.multipliedBy(5));
      assertEquals(sentBefore, hosts.payloadBytesSent(), "nothing travels while suspended");
      assertEquals(0, hosts.primary.statistics(vm.id()).missedReplicationCount(),
          "a suspended relationship misses no cycle");
      assertEquals(HealthState.WARNING, hosts.primary.health(vm.id()).state());
      hosts.await(hosts.primary.resumeReplication(vm.id()));
      catchUp(hosts, vm);
      assertEquals(HealthState.NORMAL, hosts.primary.health(vm.id()).state());
    }
  }

  @Test
  void aConnectionDroppedMidCycleLosesNothing() throws Exception {
    try (TwoHosts hosts = new TwoHosts(8 * 1024)) {
      VirtualMachine vm = hosts.newVm("mail", DISK, DISK);
      hosts.replicate(vm, TwoHosts.settings().build());
      Random r = new Random(11);
      writeSome(hosts, vm, r, 100);
      // Start a cycle and cut the connection once part of it is in flight.
      hosts.scheduler.advance(CYCLE.minusMillis(1));
      long sent = hosts.payloadBytesSent();
      while (hosts.payloadBytesSent() == sent) {
        hosts.scheduler.runNext();
      }
      assertTrue(hosts.network.faults().disconnect(PRIMARY, REPLICA) > 0);
      writeSome(hosts, vm, r, 30);
      hosts.scheduler.runUntilIdle();
      assertEquals(HealthState.CRITICAL, hosts.primary.health(vm.id()).state(),
          "a primary that cannot send is critical");
      assertTrue(hosts.primary.statistics(vm.id()).networkFailureCount() > 0);
      catchUp(hosts, vm);
      assertEquals(HealthState.NORMAL, hosts.primary.health(vm.id()).state());
    }
  }

  @Test
  void duplicatedMessagesApplyOnce() throws Exception {
    try (TwoHosts hosts = new TwoHosts()) {
      VirtualMachine vm = hosts.newVm("dup", DISK);
      hosts.replicate(vm, TwoHosts.settings().build());
      Random r = new Random(3);
      for (int round = 0; round < 3; round++) {
        writeSome(hosts, vm, r, 20);
        hosts.network.faults().duplicateNext(PRIMARY, REPLICA, 15);
        hosts.network.faults().duplicateNext(REPLICA, PRIMARY, 3);
        hosts.scheduler.advance(CYCLE);
      }
      catchUp(hosts, vm);
      List<Long> applied = hosts.replicaEvents.stream()
          .filter(e -> e instanceof ReplicationEvent.CycleCompleted c && c.mode() == ReplicationMode.REPLICA)
          .map(e -> ((ReplicationEvent.CycleCompleted) e).cycle()).toList();
      assertEquals(applied.stream().distinct().toList(), applied, "each cycle applies once, in order");
      assertEquals(applied.stream().sorted().toList(), applied);
    }
  }

  @Test
  void aReplicaCrashBetweenJournalAndApplyRecoversByReplay() throws Exception {
    try (TwoHosts hosts = new TwoHosts()) {
      VirtualMachine vm = hosts.newVm("erp", DISK, DISK);
      hosts.replicate(vm, TwoHosts.settings().build());
      Random r = new Random(5);
      writeSome(hosts, vm, r, 50);
      List<byte[]> atCut = hosts.primaryContent(vm);
      // The replica's disk fails during apply, after the journal was committed and acknowledged.
      var store = hosts.replicaStorage.location(TwoHosts.LOCATION).disks();
      String diskName = vm.id() + "/disks/" + vm.disks().get(1).id();
      var replicaDisk = store.open(diskName, false);
      replicaDisk.failNextWrites(1, "injected: the host lost power during apply");
      hosts.scheduler.advance(CYCLE);
      replicaDisk.close();
      assertEquals(ReplicationState.ERROR, hosts.replica.state(vm.id()));
      long acked = hosts.primary.statistics(vm.id()).lastAppliedCycle();
      assertTrue(acked >= 1, "the primary got the acknowledgement of the journaled cycle");

      hosts.crashAndRestartReplica();
      assertEquals(ReplicationState.REPLICATING, hosts.replica.state(vm.id()));
      assertEquals(acked, hosts.replica.recoveryPoints(vm.id()).get(0).cycle(), "the journal was replayed");
      hosts.assertReplicaEquals(atCut, vm, "after replay");
      assertTrue(hosts.replicaStorage.location(TwoHosts.LOCATION).state()
          .list(vm.id() + "/journal/").isEmpty(), "the applied journal is gone");
      writeSome(hosts, vm, r, 20);
      catchUp(hosts, vm);
    }
  }

  @Test
  void aCycleWhoseApplyFailedPartWayOffersNoPointUntilItsJournalCompletesIt() throws Exception {
    try (TwoHosts hosts = new TwoHosts()) {
      VirtualMachine vm = hosts.newVm("pos", DISK, DISK);
      hosts.replicate(vm, TwoHosts.settings().build());
      long before = hosts.replica.recoveryPoints(vm.id()).get(0).cycle();
      Random r = new Random(11);
      for (int i = 0; i < 8; i++) {
        hosts.write(vm, 0, i * 4096L, random(r, 4096));
        hosts.write(vm, 1, i * 4096L, random(r, 4096));
      }
      List<byte[]> atCut = hosts.primaryContent(vm);
      // Disk 0's blocks apply, then disk 1 fails: the disks hold part of the cycle.
      var store = hosts.replicaStorage.location(TwoHosts.LOCATION).disks();
      var replicaDisk = store.open(vm.id() + "/disks/" + vm.disks().get(1).id(), false);
      replicaDisk.failNextWrites(1, "injected: no space left on the replica's volume");
      hosts.scheduler.advance(CYCLE);
      replicaDisk.close();
      assertEquals(ReplicationState.ERROR, hosts.replica.state(vm.id()));
      assertEquals(List.of(), hosts.replica.recoveryPoints(vm.id()),
          "the point of cycle " + before + " is no longer what the disks hold, so it is not offered");
      assertThrows(NotFoundException.class, () -> hosts.replica.openRecoveryPoint(
          new io.replica.api.RecoveryPoint(vm.id(), before, java.time.Instant.EPOCH,
              io.replica.api.RecoveryPointType.STANDARD)));
      assertTrue(hosts.replica.health(vm.id()).reasons().toString().contains("part of cycle"),
          hosts.replica.health(vm.id()).toString());

      hosts.crashAndRestartReplica();
      assertEquals(ReplicationState.REPLICATING, hosts.replica.state(vm.id()));
      hosts.assertReplicaEquals(atCut, vm, "once the journal completed the apply");
    }
  }

  @Test
  void aReplicaCrashBeforeTheCommitDiscardsThePartialCycle() throws Exception {
    try (TwoHosts hosts = new TwoHosts(8 * 1024)) {
      VirtualMachine vm = hosts.newVm("crm", DISK);
      hosts.replicate(vm, TwoHosts.settings().build());
      List<byte[]> before = hosts.primaryContent(vm);
      Random r = new Random(9);
      writeSome(hosts, vm, r, 60);
      hosts.scheduler.advance(CYCLE.minusMillis(1));
      long sent = hosts.payloadBytesSent();
      while (hosts.payloadBytesSent() == sent) {
        hosts.scheduler.runNext();
      }
      hosts.crashAndRestartReplica();
      hosts.assertReplicaEquals(before, vm, "a partial cycle must leave the previous point intact");
      catchUp(hosts, vm);
    }
  }

  @Test
  void aRestartedPrimaryComparesEveryBlockWithTheExistingReplicaAndSendsOnlyDifferences() throws Exception {
    try (TwoHosts hosts = new TwoHosts()) {
      VirtualMachine vm = hosts.newVm("restart", DISK);
      byte[] ones = new byte[4096];
      java.util.Arrays.fill(ones, (byte) 1);
      hosts.replicate(vm, TwoHosts.settings().build());
      hosts.write(vm, 0, 8192, ones);
      hosts.scheduler.advance(CYCLE);
      long before = hosts.replica.recoveryPoints(vm.id()).get(0).cycle();

      hosts.restartPrimary();
      // While nothing tracked it, the disk changed: a block went back to zeros, another was written.
      var disk = vm.disks().get(0).disk();
      disk.trim(0, 65536);
      disk.write(131072, ByteBuffer.wrap(ones));
      long sentBefore = hosts.payloadBytesSent();
      hosts.replicate(vm, TwoHosts.settings().build());
      assertTrue(hosts.payloadBytesSent() - sentBefore <= 4096,
          "blocks are compared by hash: only the one written block travels, not a full copy");
      assertTrue(hosts.replica.recoveryPoints(vm.id()).get(0).cycle() > before,
          "the new primary's cycles continue the replica's numbering");
      hosts.assertReplicaEquals(hosts.primaryContent(vm), vm, "after the full copy");
      Random r = new Random(4);
      writeSome(hosts, vm, r, 10);
      catchUp(hosts, vm);
    }
  }

  @Test
  void removeStopsTrackingAndFreesItsState() throws Exception {
    try (TwoHosts hosts = new TwoHosts()) {
      VirtualMachine vm = hosts.newVm("old", DISK);
      hosts.replicate(vm, TwoHosts.settings().build());
      var tracked = hosts.primary.changeTracker(vm.id()).trackedDisk(vm.disks().get(0).id());
      tracked.write(0, ByteBuffer.wrap(new byte[4096]));
      hosts.await(hosts.primary.removeReplication(vm.id()));
      assertFalse(hosts.primary.virtualMachines().contains(vm.id()));
      assertThrows(NotFoundException.class, () -> hosts.primary.changeTracker(vm.id()));
      assertThrows(NotFoundException.class, () -> hosts.primary.state(vm.id()));
      // The guest keeps running: writes still reach the disk, untracked.
      tracked.write(4096, ByteBuffer.wrap(TwoHosts.content(vm.disks().get(0).disk()), 0, 4096));
      long sent = hosts.payloadBytesSent();
      hosts.scheduler.advance(CYCLE.multipliedBy(3));
      assertEquals(sent, hosts.payloadBytesSent(), "nothing is sent after removal");
      assertEquals(0, hosts.network.openConnectionCount(), "the connection to the replica is closed");
      // The replica keeps its copy until it is removed there.
      assertEquals(ReplicationMode.REPLICA, hosts.replica.mode(vm.id()));
      hosts.await(hosts.replica.removeReplication(vm.id()));
      assertFalse(hosts.replica.virtualMachines().contains(vm.id()));
      assertTrue(hosts.replicaStorage.location(TwoHosts.LOCATION).state().list(vm.id().toString()).isEmpty());
    }
  }

  @Test
  void statisticsAndHealthFollowTheRules() throws Exception {
    try (TwoHosts hosts = new TwoHosts()) {
      VirtualMachine vm = hosts.newVm("stats", DISK);
      hosts.await(hosts.primary.enableReplication(vm, TwoHosts.settings().build()));
      assertEquals(ReplicationState.READY_FOR_INITIAL_REPLICATION, hosts.primary.state(vm.id()));
      assertEquals(HealthState.WARNING, hosts.primary.health(vm.id()).state(), "initial replication pending");
      hosts.await(hosts.primary.startInitialReplication(vm.id()));
      Random r = new Random(1);
      for (int i = 0; i < 10; i++) {
        writeSome(hosts, vm, r, 3);
        hosts.scheduler.advance(CYCLE);
      }
      ReplicationStatistics s = hosts.primary.statistics(vm.id());
      assertEquals(10, s.successfulReplicationCount());
      assertEquals(0, s.missedReplicationCount());
      assertTrue(s.averageReplicationSizeBytes() > 0 && s.averageReplicationSizeBytes() <= 3 * 4096);
      assertTrue(s.maximumReplicationSizeBytes() >= s.averageReplicationSizeBytes());
      assertEquals(0, s.pendingReplicationSizeBytes());
      assertEquals(HealthState.NORMAL, hosts.primary.health(vm.id()).state());
      assertEquals(10, hosts.replica.statistics(vm.id()).successfulReplicationCount());

      // Cut the link: cycles are missed; more than 20 % missed is at least a warning, the lost link critical.
      hosts.network.faults().partition(PRIMARY, REPLICA);
      writeSome(hosts, vm, r, 3);
      for (int i = 0; i < 4; i++) {
        hosts.scheduler.advance(CYCLE);
      }
      s = hosts.primary.statistics(vm.id());
      assertEquals(4, s.missedReplicationCount());
      assertEquals(3 * 4096, s.pendingReplicationSizeBytes());
      var health = hosts.primary.health(vm.id());
      assertEquals(HealthState.CRITICAL, health.state());
      assertTrue(health.reasons().stream().anyMatch(x -> x.contains("not reachable")), health.reasons().toString());
      assertTrue(health.reasons().stream().anyMatch(x -> x.contains("20 %")), health.reasons().toString());

      // Reconnected, but the missed share stays above 20 % in this window: warning until reset.
      hosts.network.faults().heal();
      hosts.scheduler.advance(CYCLE.multipliedBy(2));
      assertEquals(HealthState.WARNING, hosts.primary.health(vm.id()).state());
      hosts.primary.resetStatistics(vm.id());
      assertEquals(0, hosts.primary.statistics(vm.id()).missedReplicationCount());
      assertEquals(HealthState.NORMAL, hosts.primary.health(vm.id()).state());
      assertTrue(hosts.primaryEvents.stream().anyMatch(e -> e instanceof ReplicationEvent.HealthChanged h
          && h.health().state() == HealthState.CRITICAL));

      // No success for over an hour (the replica refuses every cycle): warning on the primary.
      hosts.network.faults().dropMatching(PRIMARY, REPLICA, m -> m instanceof Message.CycleEnd);
      writeSome(hosts, vm, r, 1);
      hosts.scheduler.advance(Duration.ofMinutes(61));
      var late = hosts.primary.health(vm.id());
      assertTrue(late.reasons().stream().anyMatch(x -> x.contains("more than an hour")), late.reasons().toString());
    }
  }

  @Test
  void anUnauthorizedPrimaryIsRefusedAndNothingIsCreated() throws Exception {
    try (TwoHosts hosts = new TwoHosts()) {
      hosts.replica.setReplicaServerSettings(ReplicaServerSettings.builder()
          .addAuthorizationEntry(new AuthorizationEntry("*.fabrikam.com", "fabrikam", "fab")).build());
      VirtualMachine vm = hosts.newVm("intruder", DISK);
      var future = hosts.primary.enableReplication(vm, TwoHosts.settings().build());
      hosts.scheduler.runUntilIdle();
      var e = assertThrows(java.util.concurrent.CompletionException.class, future::join);
      assertTrue(e.getCause() instanceof io.replica.api.NotAuthorizedException, e.toString());
      assertTrue(e.getCause().getMessage().contains("'" + PRIMARY + "'"), e.getCause().getMessage());
      assertTrue(e.getCause().getMessage().contains("authorization list"), e.getCause().getMessage());
      assertFalse(hosts.primary.virtualMachines().contains(vm.id()));
      assertTrue(hosts.replica.virtualMachines().isEmpty());
      assertTrue(hosts.replicaStorage.locationNames().stream()
          .allMatch(l -> hosts.replicaStorage.location(l).disks().list().isEmpty()));
    }
  }

  @Test
  void aMachineMayMoveToAnotherPrimaryOfTheSameTrustGroupButNotOthers() throws Exception {
    try (TwoHosts hosts = new TwoHosts()) {
      hosts.replica.setReplicaServerSettings(ReplicaServerSettings.builder()
          .addAuthorizationEntry(new AuthorizationEntry("*.contoso.com", "contoso", "contoso")).build());
      VirtualMachine vm = hosts.newVm("mover", DISK);
      hosts.replicate(vm, TwoHosts.settings().build());
      assertEquals(ReplicationState.REPLICATING, hosts.replica.state(vm.id()));
      assertEquals(List.of(vm.id() + "/disks/" + vm.disks().get(0).id()),
          hosts.replicaStorage.location("contoso").disks().list(), "names derive from ids only");
    }
  }
}
