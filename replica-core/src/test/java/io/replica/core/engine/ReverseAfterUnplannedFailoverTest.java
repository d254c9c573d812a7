package io.replica.core.engine;

import static io.replica.core.engine.TwoHosts.PRIMARY;
import static io.replica.core.engine.TwoHosts.REPLICA;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replica.api.RecoveryPoint;
import io.replica.api.ReplicationMode;
import io.replica.api.ReplicationSettings;
import io.replica.api.ReplicationState;
import io.replica.api.VirtualMachine;
import io.replica.spi.host.PowerState;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** After an unplanned failover the old primary comes back as the replica; only differing blocks travel. */
class ReverseAfterUnplannedFailoverTest {
  private static final long DISK = 4L << 20;
  private static final Duration CYCLE = Duration.ofSeconds(30);

  @Test
  void theOldPrimaryBecomesTheReplicaAndOnlyWhatDiffersTravels() throws Exception {
    try (TwoHosts hosts = new TwoHosts()) {
      hosts.primaryAcceptsReverse();
      VirtualMachine vm = hosts.newVm("crm", DISK, DISK);
      Random r = new Random(8);
      for (int i = 0; i < 300; i++) { // a well-filled machine: a full copy would be large
        byte[] data = new byte[4096];
        r.nextBytes(data);
        vm.disks().get(i % 2).disk().write((long) (i / 2) * 4096, ByteBuffer.wrap(data));
      }
      hosts.replicate(vm, TwoHosts.settings().build());
      hosts.scheduler.advance(CYCLE);

      // The primary site is cut off; its last writes never reach the replica.
      hosts.network.faults().partition(PRIMARY, REPLICA);
      for (int i = 0; i < 6; i++) {
        hosts.write(vm, 0, (long) (800 + i) * 4096, new byte[4096]);
      }
      hosts.scheduler.advance(CYCLE);
      hosts.power.put(vm.id(), PowerState.OFF);

      List<RecoveryPoint> points = hosts.replica.recoveryPoints(vm.id());
      hosts.await(hosts.replica.failover(vm.id(), points.get(points.size() - 1), false));
      VirtualMachine running = hosts.await(hosts.replica.commitFailover(vm.id()));
      for (int i = 0; i < 4; i++) { // the machine runs at the replica site
        byte[] data = new byte[4096];
        r.nextBytes(data);
        running.disks().get(1).disk().write((long) (900 + i) * 4096, ByteBuffer.wrap(data));
      }

      hosts.network.faults().heal();
      long before = hosts.network.payloadBytesSent(REPLICA, PRIMARY);
      long compared = replicateBack(hosts, vm);
      assertEquals(ReplicationMode.PRIMARY, hosts.replica.mode(vm.id()));
      assertEquals(ReplicationMode.REPLICA, hosts.primary.mode(vm.id()));
      long sent = hosts.network.payloadBytesSent(REPLICA, PRIMARY) - before;
      assertTrue(sent <= 10 * 4096, "only the ten differing blocks travel back, not " + sent + " bytes");
      // The six blocks written on the old primary and the four written here are all that is compared.
      assertEquals(10, compared, "blocks compared by hash");

      var tracker = hosts.replica.changeTracker(vm.id());
      for (int i = 0; i < 2; i++) {
        assertArrayEquals(TwoHosts.content(tracker.trackedDisk(vm.disks().get(i).id())),
            TwoHosts.content(vm.disks().get(i).disk()), "the old primary equals the new one, disk " + i);
      }
    }
  }

  /**
   * Failing over to an older point rolls back blocks the old primary still holds newer: those are
   * compared too, and the old primary ends equal to what runs now.
   */
  @Test
  void anOlderPointRollsBackBlocksThatAreSentBackToo() throws Exception {
    try (TwoHosts hosts = new TwoHosts()) {
      hosts.primaryAcceptsReverse();
      VirtualMachine vm = hosts.newVm("erp", DISK);
      hosts.replicate(vm, TwoHosts.settings()
          .recoveryHistory(new io.replica.api.RecoveryHistory(4, Duration.ofMinutes(1), 0)).build());
      Random r = new Random(21);
      for (int cycle = 0; cycle < 4; cycle++) { // each cycle rewrites its own three blocks
        for (int i = 0; i < 3; i++) {
          byte[] data = new byte[4096];
          r.nextBytes(data);
          hosts.write(vm, 0, (long) (100 * cycle + i) * 4096, data);
        }
        hosts.scheduler.advance(Duration.ofMinutes(1)); // one recovery point per cycle
      }
      hosts.power.put(vm.id(), PowerState.OFF);
      hosts.network.faults().partition(PRIMARY, REPLICA);

      List<RecoveryPoint> points = hosts.replica.recoveryPoints(vm.id());
      // Cycles run every 30 s and the writes came every minute, so points hold cycles 1, 3, 5, 7 and the
      // latest, 8: from cycle 3 the writes that cycles 5 and 7 carried roll back.
      RecoveryPoint older = points.get(points.size() - 4);
      assertEquals(3, older.cycle());
      hosts.await(hosts.replica.failover(vm.id(), older, true));
      hosts.await(hosts.replica.commitFailover(vm.id()));

      hosts.network.faults().heal();
      long compared = replicateBack(hosts, vm);
      assertEquals(6, compared, "the two rolled-back cycles' blocks");
      var now = hosts.replica.changeTracker(vm.id()).trackedDisk(vm.disks().get(0).id());
      assertArrayEquals(TwoHosts.content(now), TwoHosts.content(vm.disks().get(0).disk()),
          "the old primary holds the older point now");
    }
  }

  @Test
  void aRefusedReverseLeavesTheMachineFailedOverAndTheRetryStillComparesOnlyTheChanges() throws Exception {
    try (TwoHosts hosts = new TwoHosts()) {
      hosts.primaryAcceptsReverse();
      VirtualMachine vm = hosts.newVm("hr", DISK);
      hosts.replicate(vm, TwoHosts.settings().build());
      hosts.scheduler.advance(CYCLE);
      hosts.network.faults().partition(PRIMARY, REPLICA);
      hosts.write(vm, 0, 40 * 4096, new byte[4096]); // never reaches the replica
      List<RecoveryPoint> points = hosts.replica.recoveryPoints(vm.id());
      hosts.await(hosts.replica.failover(vm.id(), points.get(points.size() - 1), true));
      VirtualMachine running = hosts.await(hosts.replica.commitFailover(vm.id()));
      hosts.network.faults().heal();

      // The old primary still runs the machine: it refuses to become the replica.
      var refused = hosts.replica.reverseReplication(vm.id(), ReplicationSettings.builder(PRIMARY)
          .replicationFrequency(CYCLE).build());
      hosts.scheduler.runUntilIdle();
      Throwable e = org.junit.jupiter.api.Assertions.assertThrows(java.util.concurrent.CompletionException.class,
          refused::join).getCause();
      assertTrue(e.getMessage().contains("shut it down"), e.getMessage());
      assertEquals(ReplicationState.FAILED_OVER, hosts.replica.state(vm.id()), "still failed over, to try again");

      byte[] data = new byte[4096];
      new Random(3).nextBytes(data);
      running.disks().get(0).disk().write(60 * 4096, ByteBuffer.wrap(data)); // between the attempts
      hosts.power.put(vm.id(), PowerState.OFF);
      long compared = replicateBack(hosts, vm);
      assertEquals(2, compared, "the old primary's block and the new write");
      assertArrayEquals(TwoHosts.content(running.disks().get(0).disk()), TwoHosts.content(vm.disks().get(0).disk()),
          "the old primary equals the new one");
    }
  }

  @Test
  void aReverseToAHostThatNoLongerReplicatesTheMachineIsRefusedWithWhatToDo() throws Exception {
    try (TwoHosts hosts = new TwoHosts()) {
      hosts.primaryAcceptsReverse();
      VirtualMachine vm = hosts.newVm("ops", DISK);
      hosts.replicate(vm, TwoHosts.settings().build());
      hosts.scheduler.advance(CYCLE);
      hosts.network.faults().partition(PRIMARY, REPLICA);
      List<RecoveryPoint> points = hosts.replica.recoveryPoints(vm.id());
      hosts.await(hosts.replica.failover(vm.id(), points.get(points.size() - 1), true));
      hosts.await(hosts.replica.commitFailover(vm.id()));
      hosts.await(hosts.primary.removeReplication(vm.id())); // the old site was cleaned up meanwhile
      hosts.network.faults().heal();

      var refused = hosts.replica.reverseReplication(vm.id(), ReplicationSettings.builder(PRIMARY)
          .replicationFrequency(CYCLE).build());
      hosts.scheduler.runUntilIdle();
      Throwable e = org.junit.jupiter.api.Assertions.assertThrows(java.util.concurrent.CompletionException.class,
          refused::join).getCause();
      assertTrue(e.getMessage().contains("does not replicate it; enable replication from"), e.getMessage());
      assertTrue(!e.getMessage().contains("cycle -"), "no internal marker in the reason: " + e.getMessage());
      assertEquals(ReplicationState.FAILED_OVER, hosts.replica.state(vm.id()), "still failed over");
    }
  }

  @Test
  void aRestartedPrimaryWhoseReplicaFailedOverKeepsTrackingAndTakesReplicationBack() throws Exception {
    try (TwoHosts hosts = TwoHosts.withPersistentPrimary()) {
      VirtualMachine vm = hosts.newVm("erp", DISK, DISK);
      ReplicationSettings settings = TwoHosts.settings().build();
      hosts.replicate(vm, settings);
      hosts.write(vm, 0, 4096, new byte[4096]);
      hosts.scheduler.advance(CYCLE);

      // The primary site goes dark; the replica fails over and the machine runs there.
      hosts.network.faults().partition(PRIMARY, REPLICA);
      hosts.power.put(vm.id(), PowerState.OFF);
      List<RecoveryPoint> points = hosts.replica.recoveryPoints(vm.id());
      hosts.await(hosts.replica.failover(vm.id(), points.get(points.size() - 1), false));
      hosts.await(hosts.replica.commitFailover(vm.id()));

      // The old primary host comes back and resumes from its saved state; its replica refuses it.
      hosts.restartPrimary();
      hosts.primaryAcceptsReverse();
      hosts.network.faults().heal();
      var resumed = hosts.primary.enableReplication(vm, settings);
      hosts.scheduler.advance(Duration.ofSeconds(5));
      Throwable why = org.junit.jupiter.api.Assertions.assertThrows(java.util.concurrent.CompletionException.class,
          resumed::join).getCause();
      assertTrue(why.getMessage().contains("does not take the machine now"), why.getMessage());

      // Tracking was kept, so the failed-over machine replicates back to it.
      replicateBack(hosts, vm);
      assertEquals(ReplicationMode.REPLICA, hosts.primary.mode(vm.id()));
      var tracker = hosts.replica.changeTracker(vm.id());
      for (int i = 0; i < 2; i++) {
        assertArrayEquals(TwoHosts.content(tracker.trackedDisk(vm.disks().get(i).id())),
            TwoHosts.content(vm.disks().get(i).disk()), "the old primary equals the new one, disk " + i);
      }
    }
  }

  /**
   * Starts reverse replication from the replica host and runs until it replicates; returns how many
   * blocks its first (resynchronization) cycle compared by hash.
   */
  private static long replicateBack(TwoHosts hosts, VirtualMachine vm) {
    int events = hosts.replicaEvents.size();
    hosts.await(hosts.replica.reverseReplication(vm.id(), ReplicationSettings.builder(PRIMARY)
        .replicationFrequency(CYCLE).build()));
    for (int i = 0; i < 20 && hosts.replica.state(vm.id()) != ReplicationState.REPLICATING; i++) {
      hosts.scheduler.advance(Duration.ofSeconds(5));
    }
    assertEquals(ReplicationState.REPLICATING, hosts.replica.state(vm.id()));
    return hosts.replicaEvents.subList(events, hosts.replicaEvents.size()).stream()
        .filter(e -> e instanceof io.replica.api.event.ReplicationEvent.CycleStarted)
        .mapToLong(e -> ((io.replica.api.event.ReplicationEvent.CycleStarted) e).blocks())
        .findFirst().orElseThrow(() -> new AssertionError("no cycle started"));
  }
}
