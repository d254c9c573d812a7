package io.replica.core.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replica.api.ReplicationMode;
import io.replica.api.ReplicationState;
import io.replica.api.VirtualMachine;
import io.replica.api.event.ReplicationEvent;
import io.replica.spi.storage.DiskSpec;
import io.replica.testkit.gen.GuestWrite;
import io.replica.testkit.gen.Workload;
import io.replica.testkit.gen.WorkloadGenerator;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * The central promise: under a random workload whose writes land while cycles are in transfer, the
 * replica equals the primary at every acknowledged cut, on every disk at once.
 */
class ReplicationEndToEndTest {
  private static final long DISK = 2L << 20;

  @ParameterizedTest(name = "seed {0}")
  @ValueSource(longs = {1, 2, 3, 42, 1234})
  void replicaEqualsPrimaryAtEveryAckedCutWhileWritesLandDuringTransfer(long seed) throws Exception {
    // A small in-flight bound makes the sender pause mid-cycle, so guest writes interleave with it.
    try (TwoHosts hosts = new TwoHosts(16 * 1024)) {
      VirtualMachine vm = hosts.newVm("web", DISK, DISK);
      WorkloadGenerator gen = WorkloadGenerator.builder(seed)
          .disk(DiskSpec.dynamic(DISK)).disk(DiskSpec.dynamic(DISK))
          .workload(Workload.values()[(int) (seed % Workload.values().length)])
          .writeSizeUpTo(16 * 1024).build();
      for (GuestWrite w : gen.next(200)) {
        vm.disks().get(w.diskIndex()).disk().write(w.offsetBytes(), ByteBuffer.wrap(w.data()));
      }
      hosts.await(hosts.primary.enableReplication(vm, TwoHosts.settings().build()));
      hosts.primary.startInitialReplication(vm.id());

      Map<Long, List<byte[]>> atCut = new HashMap<>();
      var tracker = hosts.primary.changeTracker(vm.id());
      long generation = tracker.openGeneration();
      atCut.put(generation, hosts.primaryContent(vm));
      int checkedEvents = 0;
      int verified = 0;
      int writesDuringTransfer = 0;
      for (int step = 0; step < 200_000 && verified < 12; step++) {
        boolean inTransfer =
            tracker.openGeneration() - 1 > hosts.primary.statistics(vm.id()).lastAppliedCycle();
        for (GuestWrite w : gen.next(1 + step % 3)) {
          hosts.write(vm, w.diskIndex(), w.offsetBytes(), w.data());
          if (inTransfer) {
            writesDuringTransfer++;
          }
        }
        hosts.scheduler.runNext();
        if (tracker.openGeneration() != generation) {
          generation = tracker.openGeneration();
          // Guest writes happen only between steps, so the disks now are the disks at the cut.
          atCut.put(generation, hosts.primaryContent(vm));
        }
        List<ReplicationEvent> events = hosts.replicaEvents;
        for (; checkedEvents < events.size(); checkedEvents++) {
          if (events.get(checkedEvents) instanceof ReplicationEvent.CycleCompleted c
              && c.mode() == ReplicationMode.REPLICA) {
            // Cycle n is the (n+1)-th cut.
            hosts.assertReplicaEquals(atCut.get(c.cycle() + 1), vm, "seed " + seed + " cycle " + c.cycle());
            verified++;
          }
        }
      }
      assertTrue(verified >= 12, "seed " + seed + ": only " + verified + " cycles were verified");
      assertTrue(writesDuringTransfer > 0, "seed " + seed + ": no write landed during a transfer");
      assertEquals(ReplicationState.REPLICATING, hosts.primary.state(vm.id()));
    }
  }

  @Test
  void writeOrderAcrossDisksIsKeptAtEveryPoint() throws Exception {
    try (TwoHosts hosts = new TwoHosts(8 * 1024)) {
      VirtualMachine vm = hosts.newVm("db", DISK, DISK);
      hosts.replicate(vm, TwoHosts.settings().build());
      int applied = 0;
      for (int counter = 1; counter <= 3000 && applied < 10; counter++) {
        // The log disk is written before the data disk, as a database would.
        hosts.write(vm, 0, 0, counterBlock(counter));
        hosts.write(vm, 1, 0, counterBlock(counter));
        int before = hosts.replicaEvents.size();
        hosts.scheduler.runNext();
        if (hosts.replicaEvents.size() != before && hosts.replica.recoveryPoints(vm.id()).size() == 1) {
          List<byte[]> r = hosts.replicaContent(vm);
          long log = ByteBuffer.wrap(r.get(0)).getLong();
          long data = ByteBuffer.wrap(r.get(1)).getLong();
          assertTrue(log == data || log == data + 1, "log " + log + " vs data " + data
              + ": a point must never hold a data write without the log write before it");
          applied++;
        }
      }
      assertTrue(applied > 0, "no cycle applied");
    }
  }

  static byte[] counterBlock(long counter) {
    byte[] b = new byte[512];
    ByteBuffer.wrap(b).putLong(counter);
    return b;
  }

  @Test
  void initialReplicationSendsOnlyAllocatedNonZeroBlocksAndReportsProgress() throws Exception {
    try (TwoHosts hosts = new TwoHosts()) {
      VirtualMachine vm = hosts.newVm("sparse", 64L << 20);
      byte[] data = new byte[4096];
      java.util.Arrays.fill(data, (byte) 7);
      var disk = vm.disks().get(0).disk();
      disk.write(0, ByteBuffer.wrap(data));
      disk.write(10L << 20, ByteBuffer.wrap(data));
      disk.write(40L << 20, ByteBuffer.wrap(data));
      disk.write(50L << 20, ByteBuffer.wrap(new byte[4096])); // allocated, but zeros
      hosts.replicate(vm, TwoHosts.settings().build());

      assertEquals(3 * 4096, hosts.payloadBytesSent(), "only the three non-zero blocks carry payload");
      assertEquals(3 * 4096, hosts.primary.statistics(vm.id()).initialReplicationSizeBytes());
      List<ReplicationEvent.InitialReplicationProgress> progress = hosts.primaryEvents.stream()
          .filter(ReplicationEvent.InitialReplicationProgress.class::isInstance)
          .map(ReplicationEvent.InitialReplicationProgress.class::cast).toList();
      assertTrue(!progress.isEmpty(), "initial replication reported no progress");
      var last = progress.get(progress.size() - 1);
      assertEquals(last.bytesTotal(), last.bytesDone());
      hosts.assertReplicaEquals(hosts.primaryContent(vm), vm, "after initial replication");
      assertEquals(ReplicationState.REPLICATING, hosts.replica.state(vm.id()));
    }
  }
}
