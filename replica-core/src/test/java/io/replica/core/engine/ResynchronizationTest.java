package io.replica.core.engine;

import static io.replica.core.engine.TwoHosts.PRIMARY;
import static io.replica.core.engine.TwoHosts.REPLICA;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replica.api.AuthenticationType;
import io.replica.api.RecoveryHistory;
import io.replica.api.RecoveryPoint;
import io.replica.api.ReplicationState;
import io.replica.api.VirtualMachine;
import io.replica.spi.transport.ConnectOptions;
import io.replica.spi.transport.Connection;
import io.replica.spi.transport.Endpoint;
import io.replica.spi.transport.Message;
import io.replica.spi.transport.MessageHandler;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

/** Resynchronization compares every block by hash and sends only the blocks that differ. */
class ResynchronizationTest {
  private static final long DISK = 2L << 20;
  private static final Duration CYCLE = Duration.ofSeconds(30);

  private static void fill(TwoHosts hosts, VirtualMachine vm, Random r, int blocks) throws Exception {
    for (int i = 0; i < blocks; i++) {
      byte[] data = new byte[4096];
      r.nextBytes(data);
      hosts.write(vm, i % vm.disks().size(), (long) r.nextInt((int) (DISK / 4096)) * 4096, data);
    }
  }

  private static void resyncAndWait(TwoHosts hosts, VirtualMachine vm) {
    hosts.await(hosts.primary.resynchronize(vm.id()));
    for (int i = 0; i < 20 && hosts.primary.state(vm.id()) != ReplicationState.REPLICATING; i++) {
      hosts.scheduler.advance(Duration.ofSeconds(5));
    }
    assertEquals(ReplicationState.REPLICATING, hosts.primary.state(vm.id()));
  }

  @Test
  void resynchronizingIdenticalDisksSendsHashesOnly() throws Exception {
    try (TwoHosts hosts = new TwoHosts()) {
      VirtualMachine vm = hosts.newVm("same", DISK, DISK);
      fill(hosts, vm, new Random(1), 0);
      hosts.replicate(vm, TwoHosts.settings().build());
      fill(hosts, vm, new Random(2), 200);
      hosts.scheduler.advance(CYCLE);
      long before = hosts.payloadBytesSent();
      resyncAndWait(hosts, vm);
      assertEquals(before, hosts.payloadBytesSent(), "identical disks: no block travels");
      hosts.assertReplicaEquals(hosts.primaryContent(vm), vm, "after the resync");
    }
  }

  @Test
  void resynchronizingAfterNChangedBlocksSendsThoseBlocks() throws Exception {
    try (TwoHosts hosts = new TwoHosts()) {
      VirtualMachine vm = hosts.newVm("drift", DISK);
      hosts.replicate(vm, TwoHosts.settings().build());
      fill(hosts, vm, new Random(3), 100);
      hosts.scheduler.advance(CYCLE);
      // Seven blocks of the replica's disk change behind the engine's back (a restore, a mount).
      var replicaDisk = hosts.replicaStorage.location(TwoHosts.LOCATION).disks()
          .open(vm.id() + "/disks/" + vm.disks().get(0).id(), false);
      for (int i = 0; i < 7; i++) {
        replicaDisk.write(i * 65536L, ByteBuffer.wrap(new byte[4096]).put(0, (byte) 0x77));
      }
      replicaDisk.flush();
      replicaDisk.close();
      long before = hosts.payloadBytesSent();
      resyncAndWait(hosts, vm);
      long sent = hosts.payloadBytesSent() - before;
      assertTrue(sent <= 7 * 4096, "only the seven differing blocks travel, not " + sent + " bytes");
      hosts.assertReplicaEquals(hosts.primaryContent(vm), vm, "after the resync");
    }
  }

  @Test
  void initialReplicationFromAnExistingCopySendsOnlyWhatChangedSinceTheCopy() throws Exception {
    try (TwoHosts hosts = new TwoHosts()) {
      VirtualMachine vm = hosts.newVm("restored", DISK);
      Random r = new Random(41);
      byte[] image = new byte[(int) DISK];
      r.nextBytes(image);
      vm.disks().get(0).disk().write(0, ByteBuffer.wrap(image));
      // The operator restored a backup of the disk into the replica's storage location...
      var copy = hosts.replicaStorage.location(TwoHosts.LOCATION).disks().create(
          vm.id() + "/disks/" + vm.disks().get(0).id(), io.replica.spi.storage.DiskSpec.dynamic(DISK));
      copy.write(0, ByteBuffer.wrap(image));
      copy.flush();
      copy.close();
      // ...and the primary changed three blocks since.
      for (int i = 0; i < 3; i++) {
        vm.disks().get(0).disk().write(i * 262144L, ByteBuffer.wrap(new byte[4096]).put(0, (byte) 9));
      }
      hosts.replicate(vm, TwoHosts.settings().initialReplicationFromExistingCopy().build());
      assertTrue(hosts.payloadBytesSent() <= 3 * 4096, "only the three changed blocks travel, not "
          + hosts.payloadBytesSent() + " bytes");
      hosts.assertReplicaEquals(hosts.primaryContent(vm), vm, "after initial replication from the copy");
    }
  }

  @Test
  void pendingChangesPastTheThresholdRequireAResynchronizationThatStartsInItsWindow() throws Exception {
    try (TwoHosts hosts = new TwoHosts()) {
      VirtualMachine vm = hosts.newVm("busy", DISK);
      var window = new io.replica.api.ResynchronizationWindow(java.time.LocalTime.of(1, 0),
          java.time.LocalTime.of(2, 0), java.time.ZoneId.of("UTC"));
      hosts.replicate(vm, TwoHosts.settings().resynchronizationThreshold(0.1).autoResynchronization(window).build());
      hosts.network.faults().partition(PRIMARY, REPLICA);
      fill(hosts, vm, new Random(7), 80); // about 15 % of the disk changes while the replica is away
      hosts.scheduler.advance(CYCLE);
      assertEquals(ReplicationState.WAITING_FOR_START_RESYNCHRONIZE, hosts.primary.state(vm.id()));
      hosts.network.faults().heal();
      hosts.scheduler.advance(Duration.ofMinutes(30));
      assertEquals(ReplicationState.WAITING_FOR_START_RESYNCHRONIZE, hosts.primary.state(vm.id()),
          "outside its window the resynchronization waits (it is 00:30)");
      hosts.scheduler.advance(Duration.ofMinutes(31));
      assertEquals(ReplicationState.REPLICATING, hosts.primary.state(vm.id()), "it ran at 01:00");
      hosts.assertReplicaEquals(hosts.primaryContent(vm), vm, "after the automatic resync");
    }
  }

  @Test
  void aResynchronizationPausesResumesAndCancels() throws Exception {
    try (TwoHosts hosts = new TwoHosts(8 * 1024)) {
      VirtualMachine vm = hosts.newVm("big", DISK, DISK);
      hosts.replicate(vm, TwoHosts.settings().build());
      // The replica's first disk diverged everywhere: the resynchronization has a lot to send.
      var replicaDisk = hosts.replicaStorage.location(TwoHosts.LOCATION).disks()
          .open(vm.id() + "/disks/" + vm.disks().get(0).id(), false);
      byte[] noise = new byte[(int) DISK];
      new Random(6).nextBytes(noise);
      replicaDisk.write(0, ByteBuffer.wrap(noise));
      replicaDisk.close();
      hosts.primary.resynchronize(vm.id());
      for (int i = 0; i < 10; i++) {
        hosts.scheduler.runNext();
      }
      assertEquals(ReplicationState.RESYNCHRONIZING, hosts.primary.state(vm.id()));
      hosts.await(hosts.primary.suspendReplication(vm.id()));
      assertEquals(ReplicationState.RESYNCHRONIZE_SUSPENDED, hosts.primary.state(vm.id()));
      long messages = hosts.network.messagesSent(PRIMARY, REPLICA);
      hosts.scheduler.advance(Duration.ofMinutes(5));
      assertEquals(messages, hosts.network.messagesSent(PRIMARY, REPLICA), "a paused resynchronization sends nothing");
      hosts.primary.resumeReplication(vm.id()).join(); // completes at once; the transfer goes on in tasks
      assertEquals(ReplicationState.RESYNCHRONIZING, hosts.primary.state(vm.id()));
      hosts.scheduler.runNext();
      assertTrue(hosts.network.messagesSent(PRIMARY, REPLICA) > messages, "resumed where it stopped");
      hosts.await(hosts.primary.cancelResynchronization(vm.id()));
      assertEquals(ReplicationState.WAITING_FOR_START_RESYNCHRONIZE, hosts.primary.state(vm.id()));
      resyncAndWait(hosts, vm);
      fill(hosts, vm, new Random(4), 10);
      List<byte[]> expected = hosts.primaryContent(vm);
      hosts.scheduler.advance(CYCLE);
      hosts.scheduler.advance(CYCLE);
      hosts.assertReplicaEquals(expected, vm, "replicating again");
    }
  }

  @Test
  void aReplicaThatNeedsResynchronizationIsRepairedAndKeepsItsOlderPoints() throws Exception {
    try (TwoHosts hosts = new TwoHosts()) {
      VirtualMachine vm = hosts.newVm("gap", DISK);
      hosts.replicate(vm, TwoHosts.settings().recoveryHistory(new RecoveryHistory(4, Duration.ofMinutes(1), 0))
          .build());
      for (int i = 0; i < 6; i++) {
        fill(hosts, vm, new Random(10 + i), 5);
        hosts.scheduler.advance(CYCLE);
      }
      List<RecoveryPoint> pointsBefore = hosts.replica.recoveryPoints(vm.id());
      // A cycle out of sequence puts the replica in "resynchronization required".
      var rogue = hosts.network.transport(PRIMARY);
      Connection c = hosts.await(rogue.connect(new Endpoint(REPLICA, 80),
          new ConnectOptions(AuthenticationType.KERBEROS, false), new MessageHandler() {
            @Override
            public void onMessage(Connection connection, Message message) {}

            @Override
            public void onClosed(Connection connection, @Nullable Throwable cause) {}
          }));
      c.send(new Message.CycleBegin(vm.id(), 1000, 999, hosts.clock.instant(), null, false));
      hosts.scheduler.runUntilIdle();
      assertEquals(ReplicationState.ERROR, hosts.replica.state(vm.id()));
      fill(hosts, vm, new Random(30), 5);
      hosts.scheduler.advance(CYCLE);
      assertEquals(ReplicationState.WAITING_FOR_START_RESYNCHRONIZE, hosts.primary.state(vm.id()));

      resyncAndWait(hosts, vm);
      assertEquals(ReplicationState.REPLICATING, hosts.replica.state(vm.id()));
      List<RecoveryPoint> pointsAfter = hosts.replica.recoveryPoints(vm.id());
      assertTrue(pointsAfter.containsAll(pointsBefore.subList(1, pointsBefore.size() - 1)),
          "points from before the divergence are kept: " + pointsBefore + " -> " + pointsAfter);
      hosts.assertReplicaEquals(hosts.primaryContent(vm), vm, "after the resync");
    }
  }
}
