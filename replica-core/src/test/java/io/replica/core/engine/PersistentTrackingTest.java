package io.replica.core.engine;

import static io.replica.core.engine.TwoHosts.PRIMARY;
import static io.replica.core.engine.TwoHosts.REPLICA;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replica.api.ReplicationState;
import io.replica.api.VirtualMachine;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** A primary that crashes mid-workload resumes from its activity log, without a full resynchronization. */
class PersistentTrackingTest {
  private static final long DISK = 32L << 20;
  private static final Duration CYCLE = Duration.ofSeconds(30);

  @Test
  void aCrashedPrimaryResumesSendingOnlyItsHotExtents() throws Exception {
    try (TwoHosts hosts = TwoHosts.withPersistentPrimary()) {
      VirtualMachine vm = hosts.newVm("db", DISK, DISK);
      Random r = new Random(17);
      byte[] image = new byte[1 << 20];
      for (int mb = 0; mb < 16; mb++) { // a well-filled machine: comparing it all would be expensive
        r.nextBytes(image);
        vm.disks().get(mb % 2).disk().write((long) (mb / 2) << 20, ByteBuffer.wrap(image));
      }
      hosts.replicate(vm, TwoHosts.settings().replicationFrequency(CYCLE).build());
      for (int i = 0; i < 3; i++) {
        write(hosts, vm, r, 20, 0);
        hosts.scheduler.advance(CYCLE);
      }
      // Writes land in one 4 MiB extent of each disk, then the host crashes before the next cycle.
      write(hosts, vm, r, 30, 12L << 20);
      List<byte[]> atCrash = hosts.primaryContent(vm);
      hosts.restartPrimary();

      long messagesBefore = hosts.network.messagesSent(PRIMARY, REPLICA);
      long bytesBefore = hosts.payloadBytesSent();
      hosts.await(hosts.primary.enableReplication(vm, TwoHosts.settings().replicationFrequency(CYCLE).build()));
      assertEquals(ReplicationState.REPLICATING, hosts.primary.state(vm.id()), "no initial replication again");
      hosts.scheduler.advance(CYCLE);
      hosts.assertReplicaEquals(atCrash, vm, "the writes before the crash arrived");
      long sent = hosts.payloadBytesSent() - bytesBefore;
      assertTrue(sent <= 2 * (4L << 20), "only the hot extents travel again, not " + sent + " bytes");
      assertTrue(hosts.network.messagesSent(PRIMARY, REPLICA) - messagesBefore < 200,
          "no comparison of the whole disks");
      write(hosts, vm, r, 10, 0);
      List<byte[]> later = hosts.primaryContent(vm);
      hosts.scheduler.advance(CYCLE);
      hosts.assertReplicaEquals(later, vm, "replicating on after the restart");
    }
  }

  @Test
  void aRestartWhileTheReplicaIsUnreachableKeepsTrackingAndResumesByItself() throws Exception {
    try (TwoHosts hosts = TwoHosts.withPersistentPrimary()) {
      VirtualMachine vm = hosts.newVm("outage", DISK, DISK);
      hosts.replicate(vm, TwoHosts.settings().replicationFrequency(CYCLE).build());
      Random r = new Random(19);
      write(hosts, vm, r, 20, 0);
      hosts.scheduler.advance(CYCLE);
      write(hosts, vm, r, 10, 8L << 20); // hot when the host goes down

      // Both sites lost power; the primary comes back first and cannot reach the replica.
      hosts.network.faults().partition(PRIMARY, REPLICA);
      hosts.restartPrimary();
      var resumed = hosts.primary.enableReplication(vm, TwoHosts.settings().replicationFrequency(CYCLE).build());
      hosts.scheduler.advance(Duration.ofSeconds(5));
      assertTrue(resumed.isCompletedExceptionally(), "the caller learns the replica is not reachable");
      Throwable why = org.junit.jupiter.api.Assertions.assertThrows(java.util.concurrent.CompletionException.class,
          resumed::join).getCause();
      assertTrue(why.getMessage().contains("goes on by itself"), why.getMessage());
      write(hosts, vm, r, 10, 4L << 20); // tracked meanwhile, through the same tracker
      for (int i = 0; i < 4; i++) {
        hosts.scheduler.advance(CYCLE);
      }

      hosts.network.faults().heal();
      long bytesBefore = hosts.payloadBytesSent();
      for (int i = 0; i < 4; i++) {
        hosts.scheduler.advance(CYCLE);
      }
      assertEquals(ReplicationState.REPLICATING, hosts.primary.state(vm.id()));
      hosts.assertReplicaEquals(hosts.primaryContent(vm), vm, "after the outage");
      long sent = hosts.payloadBytesSent() - bytesBefore;
      assertTrue(sent <= 2 * (8L << 20), "the hot extents and the new writes travel, not " + sent + " bytes");
    }
  }

  @Test
  void aResumedMachineWaitingForItsReplicaIsListedAndCanBeRemoved() throws Exception {
    try (TwoHosts hosts = TwoHosts.withPersistentPrimary()) {
      VirtualMachine vm = hosts.newVm("waiting", DISK);
      hosts.replicate(vm, TwoHosts.settings().replicationFrequency(CYCLE).build());
      hosts.scheduler.advance(CYCLE);
      hosts.network.faults().partition(PRIMARY, REPLICA);
      hosts.restartPrimary();
      var resumed = hosts.primary.enableReplication(vm, TwoHosts.settings().replicationFrequency(CYCLE).build());
      hosts.scheduler.advance(Duration.ofSeconds(5));
      assertTrue(resumed.isCompletedExceptionally(), "the caller learns the replica is not reachable");

      // The operator sees the machine the host tracks, and can give up on it.
      assertEquals(java.util.Set.of(vm.id()), hosts.primary.virtualMachines());
      assertEquals(io.replica.api.ReplicationMode.PRIMARY, hosts.primary.mode(vm.id()));
      assertNotNull(hosts.primary.health(vm.id()));
      assertNotNull(hosts.primary.statistics(vm.id()));
      hosts.await(hosts.primary.removeReplication(vm.id()));
      assertEquals(java.util.Set.of(), hosts.primary.virtualMachines());

      // Removed means removed: after the outage nothing reconnects on its behalf, and it can be
      // enabled afresh (the replica's disks stayed, so from that existing copy).
      hosts.network.faults().heal();
      hosts.scheduler.advance(CYCLE);
      assertEquals(java.util.Set.of(), hosts.primary.virtualMachines());
      hosts.await(hosts.replica.removeReplication(vm.id()));
      hosts.replicate(vm, TwoHosts.settings().replicationFrequency(CYCLE).initialReplicationFromExistingCopy().build());
      hosts.scheduler.advance(CYCLE);
      assertEquals(ReplicationState.REPLICATING, hosts.primary.state(vm.id()));
    }
  }

  @Test
  void writesTheReplicaAcknowledgedSurviveAPowerLossOfThePrimaryOrAreSentAgain() throws Exception {
    try (TwoHosts hosts = TwoHosts.withPersistentPrimary()) {
      VirtualMachine vm = hosts.newVm("cache", DISK, DISK);
      byte[] early = new byte[4096];
      java.util.Arrays.fill(early, (byte) 7);
      vm.disks().get(0).disk().write(0, ByteBuffer.wrap(early)); // before tracking, and not flushed
      hosts.replicate(vm, TwoHosts.settings().replicationFrequency(CYCLE).build());
      Random r = new Random(23);
      write(hosts, vm, r, 20, 0); // the guest never flushes
      hosts.scheduler.advance(CYCLE);
      hosts.scheduler.advance(CYCLE); // acknowledged: the extents may cool
      write(hosts, vm, r, 5, 8L << 20);

      hosts.crashAndRestartPrimary(new Random(29));
      List<byte[]> afterCrash = hosts.primaryContent(vm);
      hosts.await(hosts.primary.enableReplication(vm, TwoHosts.settings().replicationFrequency(CYCLE).build()));
      hosts.scheduler.advance(CYCLE);
      hosts.scheduler.advance(CYCLE);
      hosts.assertReplicaEquals(afterCrash, vm, "the replica holds what the primary holds after its power loss");
    }
  }

  private static void write(TwoHosts hosts, VirtualMachine vm, Random r, int count, long base) throws Exception {
    for (int i = 0; i < count; i++) {
      byte[] data = new byte[4096];
      r.nextBytes(data);
      hosts.write(vm, i % 2, base + (long) r.nextInt(1024) * 4096, data);
    }
  }
}
