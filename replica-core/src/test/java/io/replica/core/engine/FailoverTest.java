package io.replica.core.engine;

import static io.replica.core.engine.TwoHosts.PRIMARY;
import static io.replica.core.engine.TwoHosts.REPLICA;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replica.api.RecoveryHistory;
import io.replica.api.RecoveryPoint;
import io.replica.api.ReplicationMode;
import io.replica.api.ReplicationState;
import io.replica.api.VirtualMachine;
import io.replica.api.WrongStateException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;

/** Test failover and unplanned failover: byte-exact at the chosen point, the replica untouched until commit. */
class FailoverTest {
  private static final long DISK = 1L << 20;
  private static final Duration CYCLE = Duration.ofSeconds(30);

  private static Map<Long, List<byte[]>> cycles(TwoHosts hosts, VirtualMachine vm, int n, Random r)
      throws IOException {
    return hosts.cyclesWithWrites(vm, n, 6, r, CYCLE);
  }

  private static void assertContent(List<byte[]> expected, VirtualMachine copy, String what) throws IOException {
    for (int i = 0; i < expected.size(); i++) {
      assertArrayEquals(expected.get(i), TwoHosts.content(copy.disks().get(i).disk()), what + ", disk " + i);
    }
  }

  private static TwoHosts replicating(VirtualMachine[] vm, Map<Long, List<byte[]>> atCut) throws IOException {
    TwoHosts hosts = new TwoHosts();
    vm[0] = hosts.newVm("app01", DISK, DISK);
    hosts.replicate(vm[0], TwoHosts.settings().recoveryHistory(new RecoveryHistory(3, Duration.ofMinutes(1), 0))
        .build());
    atCut.putAll(cycles(hosts, vm[0], 10, new Random(21)));
    return hosts;
  }

  @Test
  void aTestFailoverReadsItsPointWritesApartAndLeavesTheReplicaAlone() throws Exception {
    VirtualMachine[] vm = new VirtualMachine[1];
    Map<Long, List<byte[]>> atCut = new HashMap<>();
    try (TwoHosts hosts = replicating(vm, atCut)) {
      RecoveryPoint older = hosts.replica.recoveryPoints(vm[0].id()).get(0);
      VirtualMachine test = hosts.await(hosts.replica.startTestFailover(vm[0].id(), older));
      assertEquals("app01 - Test", test.name());
      assertEquals(ReplicationMode.TEST_REPLICA, hosts.replica.mode(test.id()));
      assertContent(atCut.get(older.cycle()), test, "the test copy at its point");

      byte[] scribble = new byte[8192];
      java.util.Arrays.fill(scribble, (byte) 0x5A);
      test.disks().get(0).disk().write(4096, ByteBuffer.wrap(scribble));
      byte[] back = new byte[8192];
      test.disks().get(0).disk().read(4096, ByteBuffer.wrap(back));
      assertArrayEquals(scribble, back, "the test copy is writable");

      // Replication goes on during the test, and the replica never sees the test's writes.
      atCut.putAll(cycles(hosts, vm[0], 4, new Random(22)));
      hosts.assertReplicaEquals(atCut.get(hosts.replica.recoveryPoints(vm[0].id())
          .get(hosts.replica.recoveryPoints(vm[0].id()).size() - 1).cycle()), vm[0], "replica during the test");
      var again = hosts.replica.startTestFailover(vm[0].id(), older);
      hosts.scheduler.runUntilIdle();
      assertTrue(assertThrows(CompletionException.class, again::join).getCause() instanceof WrongStateException);

      hosts.await(hosts.replica.stopTestFailover(vm[0].id()));
      assertTrue(hosts.replicaStorage.location(TwoHosts.LOCATION).disks().list().stream()
          .noneMatch(n -> n.contains("/test/")), "the test copy's disks are gone");
    }
  }

  @Test
  void aTestFailoverSurvivesAReplicaRestartWithItsFlushedWrites() throws Exception {
    VirtualMachine[] vm = new VirtualMachine[1];
    Map<Long, List<byte[]>> atCut = new HashMap<>();
    try (TwoHosts hosts = replicating(vm, atCut)) {
      RecoveryPoint older = hosts.replica.recoveryPoints(vm[0].id()).get(0);
      VirtualMachine test = hosts.await(hosts.replica.startTestFailover(vm[0].id(), older));
      List<byte[]> expected = new java.util.ArrayList<>();
      atCut.get(older.cycle()).forEach(d -> expected.add(d.clone()));
      byte[] kept = new byte[4096];
      java.util.Arrays.fill(kept, (byte) 0x6B);
      test.disks().get(1).disk().write(8192, ByteBuffer.wrap(kept));
      test.disks().get(1).disk().flush();
      System.arraycopy(kept, 0, expected.get(1), 8192, kept.length);

      hosts.crashAndRestartReplica();
      VirtualMachine again = hosts.replica.testFailover(vm[0].id()).orElseThrow(
          () -> new AssertionError("the test failover is gone after the restart"));
      assertEquals("app01 - Test", again.name());
      assertTrue(hosts.replica.recoveryPoints(vm[0].id()).contains(older), "its point is still kept");
      assertContent(expected, again, "the test copy after the restart: its point and its flushed write");

      atCut.putAll(cycles(hosts, vm[0], 6, new Random(23))); // the point stays pinned while cycles apply
      assertContent(expected, again, "the test copy while replication goes on");
      hosts.await(hosts.replica.stopTestFailover(vm[0].id()));
      assertTrue(hosts.replica.testFailover(vm[0].id()).isEmpty());
      assertTrue(hosts.replicaStorage.location(TwoHosts.LOCATION).disks().list().stream()
          .noneMatch(n -> n.contains("/test/")), "the test copy's disks are gone");
    }
  }

  @Test
  void aTestFailoverFromTheLatestPointKeepsThatPointWhileCyclesApply() throws Exception {
    try (TwoHosts hosts = new TwoHosts()) {
      VirtualMachine vm = hosts.newVm("latest", DISK);
      hosts.replicate(vm, TwoHosts.settings().build()); // latest only
      Map<Long, List<byte[]>> atCut = cycles(hosts, vm, 3, new Random(4));
      List<RecoveryPoint> points = hosts.replica.recoveryPoints(vm.id());
      RecoveryPoint latest = points.get(points.size() - 1);
      VirtualMachine test = hosts.await(hosts.replica.startTestFailover(vm.id(), latest));
      atCut.putAll(cycles(hosts, vm, 3, new Random(5)));
      assertTrue(hosts.replica.recoveryPoints(vm.id()).get(0).cycle() == latest.cycle());
      assertContent(atCut.get(latest.cycle()), test, "the test copy still at the point it started from");
      hosts.await(hosts.replica.stopTestFailover(vm.id()));
      hosts.scheduler.runUntilIdle();
      assertEquals(1, hosts.replica.recoveryPoints(vm.id()).size(), "latest only again once the test stopped");
    }
  }

  @Test
  void anUnplannedFailoverIsRefusedWhileThePrimaryReplicatesThenCancelResumesReplication() throws Exception {
    VirtualMachine[] vm = new VirtualMachine[1];
    Map<Long, List<byte[]>> atCut = new HashMap<>();
    try (TwoHosts hosts = replicating(vm, atCut)) {
      RecoveryPoint point = hosts.replica.recoveryPoints(vm[0].id()).get(1);
      var refused = hosts.replica.failover(vm[0].id(), point, false);
      hosts.scheduler.runUntilIdle();
      Throwable e = assertThrows(CompletionException.class, refused::join).getCause();
      assertTrue(e instanceof WrongStateException && e.getMessage().contains("RUNNING")
          && e.getMessage().contains("planned failover"), "the primary says the machine runs: " + e);
      assertEquals(ReplicationState.REPLICATING, hosts.replica.state(vm[0].id()), "nothing changed");

      hosts.network.faults().partition(PRIMARY, REPLICA); // the primary site is lost
      hosts.scheduler.runUntilIdle();
      VirtualMachine failed = hosts.await(hosts.replica.failover(vm[0].id(), point, false));
      assertEquals(ReplicationState.FAILOVER_WAITING_COMPLETION, hosts.replica.state(vm[0].id()));
      assertContent(atCut.get(point.cycle()), failed, "the failed-over machine at its point");
      failed.disks().get(1).disk().write(0, ByteBuffer.wrap(new byte[4096]));

      hosts.await(hosts.replica.cancelFailover(vm[0].id()));
      assertEquals(ReplicationState.REPLICATING, hosts.replica.state(vm[0].id()));
      hosts.network.faults().heal();
      atCut.putAll(cycles(hosts, vm[0], 6, new Random(23)));
      List<RecoveryPoint> points = hosts.replica.recoveryPoints(vm[0].id());
      hosts.assertReplicaEquals(atCut.get(points.get(points.size() - 1).cycle()), vm[0], "replication resumed");
    }
  }

  @Test
  void anUnplannedFailoverProceedsWhenThePrimarySaysTheMachineIsOff() throws Exception {
    VirtualMachine[] vm = new VirtualMachine[1];
    Map<Long, List<byte[]>> atCut = new HashMap<>();
    try (TwoHosts hosts = replicating(vm, atCut)) {
      hosts.power.put(vm[0].id(), io.replica.spi.host.PowerState.OFF);
      List<RecoveryPoint> points = hosts.replica.recoveryPoints(vm[0].id());
      VirtualMachine failed = hosts.await(hosts.replica.failover(vm[0].id(), points.get(points.size() - 1), false));
      assertEquals(ReplicationState.FAILOVER_WAITING_COMPLETION, hosts.replica.state(vm[0].id()));
      assertContent(atCut.get(points.get(points.size() - 1).cycle()), failed, "at the latest point");
    }
  }

  @Test
  void committingAFailoverMakesThePointPlusItsWritesTheDisksAndRemovesTheHistory() throws Exception {
    VirtualMachine[] vm = new VirtualMachine[1];
    Map<Long, List<byte[]>> atCut = new HashMap<>();
    try (TwoHosts hosts = replicating(vm, atCut)) {
      RecoveryPoint point = hosts.replica.recoveryPoints(vm[0].id()).get(0);
      hosts.network.faults().partition(PRIMARY, REPLICA);
      hosts.scheduler.runUntilIdle();
      VirtualMachine failed = hosts.await(hosts.replica.failover(vm[0].id(), point, false));
      byte[] ones = new byte[4096];
      java.util.Arrays.fill(ones, (byte) 1);
      failed.disks().get(0).disk().write(8192, ByteBuffer.wrap(ones));
      List<byte[]> expected = atCut.get(point.cycle());
      System.arraycopy(ones, 0, expected.get(0), 8192, 4096);

      VirtualMachine committed = hosts.await(hosts.replica.commitFailover(vm[0].id()));
      assertEquals(ReplicationState.FAILED_OVER, hosts.replica.state(vm[0].id()));
      assertEquals(List.of(), hosts.replica.recoveryPoints(vm[0].id()), "the other points are removed");
      assertContent(expected, committed, "the committed disks");
      assertTrue(hosts.replicaStorage.location(TwoHosts.LOCATION).state().list(vm[0].id() + "/undo/").isEmpty());
      hosts.network.faults().heal();
      hosts.scheduler.advance(CYCLE.multipliedBy(4));
      assertContent(expected, committed, "the old primary's cycles are refused after the commit");
    }
  }
}
