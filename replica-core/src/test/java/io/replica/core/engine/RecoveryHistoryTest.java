package io.replica.core.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replica.api.RecoveryHistory;
import io.replica.api.RecoveryPoint;
import io.replica.api.RecoveryPointType;
import io.replica.api.RecoveryPointView;
import io.replica.api.VirtualMachine;
import io.replica.api.VmDisk;
import io.replica.api.event.ReplicationEvent;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** Recovery history kept as undo logs: every kept point reads byte-exact, pruning drops whole logs. */
class RecoveryHistoryTest {
  private static final long DISK = 1L << 20;
  private static final Duration CYCLE = Duration.ofSeconds(30);

  /** Runs cycles with writes between them, recording the primary at each cut by cycle number. */
  private static Map<Long, List<byte[]>> runCycles(TwoHosts hosts, VirtualMachine vm, int n, Random r)
      throws IOException {
    return hosts.cyclesWithWrites(vm, n, 8, r, CYCLE);
  }

  private static List<byte[]> read(TwoHosts hosts, VirtualMachine vm, RecoveryPoint p) throws IOException {
    try (RecoveryPointView view = hosts.replica.openRecoveryPoint(p)) {
      List<byte[]> out = new ArrayList<>();
      for (VmDisk d : vm.disks()) {
        out.add(TwoHosts.content(view.disks().get(d.id())));
      }
      return out;
    }
  }

  private static void assertPointsExact(TwoHosts hosts, VirtualMachine vm, Map<Long, List<byte[]>> atCut)
      throws IOException {
    for (RecoveryPoint p : hosts.replica.recoveryPoints(vm.id())) {
      List<byte[]> expected = atCut.get(p.cycle());
      List<byte[]> actual = read(hosts, vm, p);
      for (int i = 0; i < expected.size(); i++) {
        assertArrayEquals(expected.get(i), actual.get(i), "point of cycle " + p.cycle() + ", disk " + i);
      }
    }
  }

  private static Set<String> undoDirectories(TwoHosts hosts, VirtualMachine vm) throws IOException {
    Set<String> dirs = new TreeSet<>();
    for (String name : hosts.replicaStorage.location(TwoHosts.LOCATION).state().list(vm.id() + "/undo/")) {
      String rest = name.substring((vm.id() + "/undo/").length());
      dirs.add(rest.substring(0, rest.indexOf('/')));
    }
    return dirs;
  }

  @Test
  void everyKeptPointReadsAsThePrimaryAtItsCutAndPruningDropsWholeLogs() throws Exception {
    try (TwoHosts hosts = new TwoHosts()) {
      VirtualMachine vm = hosts.newVm("history", DISK, DISK);
      hosts.replicate(vm, TwoHosts.settings()
          .recoveryHistory(new RecoveryHistory(3, Duration.ofMinutes(1), 0)).build());
      Map<Long, List<byte[]>> atCut = runCycles(hosts, vm, 20, new Random(3));
      List<RecoveryPoint> points = hosts.replica.recoveryPoints(vm.id());
      assertEquals(4, points.size(), "three additional points and the latest: " + points);
      for (int i = 1; i < points.size(); i++) {
        assertTrue(points.get(i).cycle() > points.get(i - 1).cycle());
      }
      assertPointsExact(hosts, vm, atCut);
      Set<String> kept = new TreeSet<>();
      points.forEach(p -> kept.add(Long.toString(p.cycle())));
      assertTrue(kept.containsAll(undoDirectories(hosts, vm)),
          "only kept points have undo logs: " + undoDirectories(hosts, vm) + " vs " + kept);
      assertTrue(hosts.replica.estimateRecoveryHistoryBytes(vm.id(), RecoveryHistory.additional(24)) > 0);
    }
  }

  @Test
  void theLatestPointIsNeverCountedAmongTheAdditionalOnes() throws Exception {
    try (TwoHosts hosts = new TwoHosts()) {
      VirtualMachine vm = hosts.newVm("counted", DISK);
      hosts.replicate(vm, TwoHosts.settings()
          .recoveryHistory(new RecoveryHistory(3, Duration.ofMinutes(1), 0)).build());
      Random r = new Random(13);
      runCycles(hosts, vm, 10, r);
      for (int i = 0; i < 4; i++) { // the latest is a kept point after every other cycle
        runCycles(hosts, vm, 1, r);
        assertEquals(4, hosts.replica.recoveryPoints(vm.id()).size(),
            "three additional points and the latest: " + hosts.replica.recoveryPoints(vm.id()));
      }
      List<RecoveryPoint> before = hosts.replica.recoveryPoints(vm.id());
      RecoveryPoint latest = before.get(before.size() - 1);
      hosts.await(hosts.replica.startTestFailover(vm.id(), latest));
      hosts.await(hosts.replica.stopTestFailover(vm.id()));
      hosts.scheduler.runUntilIdle();
      assertEquals(before, hosts.replica.recoveryPoints(vm.id()), "a test failover of the latest point costs no point");
    }
  }

  @Test
  void aViewOfAnOldPointStaysStableWhileCyclesApplyAndPinsItsLogs() throws Exception {
    try (TwoHosts hosts = new TwoHosts()) {
      VirtualMachine vm = hosts.newVm("pinned", DISK);
      hosts.replicate(vm, TwoHosts.settings()
          .recoveryHistory(new RecoveryHistory(2, Duration.ofMinutes(1), 0)).build());
      Random r = new Random(5);
      Map<Long, List<byte[]>> atCut = runCycles(hosts, vm, 8, r);
      RecoveryPoint oldest = hosts.replica.recoveryPoints(vm.id()).get(0);
      try (RecoveryPointView view = hosts.replica.openRecoveryPoint(oldest)) {
        atCut.putAll(runCycles(hosts, vm, 10, r));
        assertTrue(hosts.replica.recoveryPoints(vm.id()).contains(oldest), "a viewed point is kept");
        byte[] now = TwoHosts.content(view.disks().get(vm.disks().get(0).id()));
        assertArrayEquals(atCut.get(oldest.cycle()).get(0), now, "the view did not move while cycles applied");
        assertTrue(undoDirectories(hosts, vm).contains(Long.toString(oldest.cycle())), "its logs are pinned");
      }
      hosts.scheduler.runUntilIdle();
      assertTrue(!undoDirectories(hosts, vm).contains(Long.toString(oldest.cycle()))
          || hosts.replica.recoveryPoints(vm.id()).get(0).cycle() == oldest.cycle(),
          "a pruned point's logs go once its view closes");
      assertPointsExact(hosts, vm, atCut);
    }
  }

  @Test
  void historySurvivesAReplicaCrash() throws Exception {
    try (TwoHosts hosts = new TwoHosts()) {
      VirtualMachine vm = hosts.newVm("durable", DISK);
      hosts.replicate(vm, TwoHosts.settings()
          .recoveryHistory(new RecoveryHistory(4, Duration.ofMinutes(1), 0)).build());
      Map<Long, List<byte[]>> atCut = runCycles(hosts, vm, 12, new Random(8));
      List<RecoveryPoint> before = hosts.replica.recoveryPoints(vm.id());
      hosts.crashAndRestartReplica();
      assertEquals(before, hosts.replica.recoveryPoints(vm.id()));
      assertPointsExact(hosts, vm, atCut);
      atCut.putAll(runCycles(hosts, vm, 6, new Random(9)));
      assertPointsExact(hosts, vm, atCut);
    }
  }

  @Test
  void everyKthPointIsApplicationConsistentAndAFailedQuiesceFallsBack() throws Exception {
    int[] quiesced = {0};
    int[] thawed = {0};
    boolean[] fail = {false};
    io.replica.spi.consistency.ConsistencyProvider provider = new io.replica.spi.consistency.ConsistencyProvider() {
      @Override
      public java.util.concurrent.CompletableFuture<Void> quiesce(io.replica.api.VmId vm) {
        quiesced[0]++;
        return fail[0] ? java.util.concurrent.CompletableFuture.failedFuture(new IllegalStateException("VSS writer failed"))
            : java.util.concurrent.CompletableFuture.completedFuture(null);
      }

      @Override
      public void thaw(io.replica.api.VmId vm) {
        thawed[0]++;
      }
    };
    try (TwoHosts hosts = new TwoHosts(provider)) {
      VirtualMachine vm = hosts.newVm("vss", DISK);
      hosts.replicate(vm, TwoHosts.settings()
          .recoveryHistory(new RecoveryHistory(6, Duration.ofMinutes(1), 2)).build());
      runCycles(hosts, vm, 12, new Random(1));
      List<RecoveryPoint> points = hosts.replica.recoveryPoints(vm.id());
      long consistent = points.stream().filter(p -> p.type() == RecoveryPointType.APPLICATION_CONSISTENT).count();
      assertTrue(consistent >= 2, points.toString());
      assertEquals(quiesced[0], thawed[0], "every quiesce is thawed");
      fail[0] = true;
      int before = quiesced[0];
      runCycles(hosts, vm, 8, new Random(2));
      assertTrue(quiesced[0] > before);
      assertEquals(quiesced[0], thawed[0]);
      assertTrue(hosts.primaryEvents.stream().anyMatch(e -> e instanceof ReplicationEvent.ReplicationFailed f
          && f.reason().contains("crash-consistent")));
      RecoveryPoint newest = hosts.replica.recoveryPoints(vm.id()).get(hosts.replica.recoveryPoints(vm.id()).size() - 2);
      assertEquals(RecoveryPointType.STANDARD, newest.type(), "a failed quiesce yields a crash-consistent point");
    }
  }
}
