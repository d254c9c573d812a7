package io.replica.core.engine;

import static io.replica.core.engine.TwoHosts.PRIMARY;
import static io.replica.core.engine.TwoHosts.REPLICA;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replica.api.ReplicaServerSettings;
import io.replica.api.ReplicationMode;
import io.replica.api.ReplicationState;
import io.replica.api.VirtualMachine;
import io.replica.api.WrongStateException;
import io.replica.spi.host.PowerState;
import io.replica.spi.storage.VirtualDisk;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;

/** Planned failover loses no write, and reverse replication starts without an initial replication. */
class PlannedFailoverTest {
  private static final long DISK = 1L << 20;
  private static final Duration CYCLE = Duration.ofSeconds(30);

  @Test
  void plannedFailoverLosesNothingAndReplicatesBackOnlyWhatChanges() throws Exception {
    try (TwoHosts hosts = new TwoHosts()) {
      hosts.primaryAcceptsReverse();
      VirtualMachine vm = hosts.newVm("erp", DISK, DISK);
      hosts.replicate(vm, TwoHosts.settings().build());
      Random r = new Random(12);
      for (int i = 0; i < 3; i++) {
        writeSome(hosts, hosts.primary, vm, r, 10);
        hosts.scheduler.advance(CYCLE);
      }

      CompletableFuture<Void> refused = hosts.primary.plannedFailover(vm.id());
      hosts.scheduler.runUntilIdle();
      Throwable e = assertThrows(CompletionException.class, refused::join).getCause();
      assertTrue(e instanceof WrongStateException && e.getMessage().contains("shut it down"), e.toString());

      // The last writes before shutdown are not replicated yet: the failover must carry them.
      writeSome(hosts, hosts.primary, vm, r, 25);
      hosts.power.put(vm.id(), PowerState.OFF);
      List<byte[]> atShutdown = hosts.primaryContent(vm);
      hosts.await(hosts.plannedFailoverDone(vm));

      assertEquals(ReplicationMode.REPLICA, hosts.primary.mode(vm.id()), "the old primary is the replica now");
      assertEquals(ReplicationMode.PRIMARY, hosts.replica.mode(vm.id()), "the old replica is the primary now");
      assertEquals(ReplicationState.REPLICATING, hosts.replica.state(vm.id()));
      var tracker = hosts.replica.changeTracker(vm.id());
      for (int i = 0; i < vm.disks().size(); i++) {
        VirtualDisk d = tracker.trackedDisk(vm.disks().get(i).id());
        assertArrayEquals(atShutdown.get(i), TwoHosts.content(d), "no write was lost, disk " + i);
      }

      // The machine runs on the new primary; only its new writes travel back.
      long before = hosts.network.payloadBytesSent(REPLICA, PRIMARY);
      writeSome(hosts, hosts.replica, vm, r, 5);
      hosts.scheduler.advance(CYCLE);
      hosts.scheduler.advance(CYCLE);
      long sent = hosts.network.payloadBytesSent(REPLICA, PRIMARY) - before;
      assertTrue(sent > 0 && sent <= 5 * 4096, "reverse replication sent " + sent + " bytes, not a full copy");
      for (int i = 0; i < vm.disks().size(); i++) {
        assertArrayEquals(TwoHosts.content(tracker.trackedDisk(vm.disks().get(i).id())),
            TwoHosts.content(vm.disks().get(i).disk()), "the old primary follows the new one, disk " + i);
      }
      assertTrue(hosts.primary.recoveryPoints(vm.id()).size() >= 1);
    }
  }

  @Test
  void theOldPrimaryStaysTheReplicaAcrossItsRestart() throws Exception {
    try (TwoHosts hosts = TwoHosts.withPersistentPrimary()) {
      ReplicaServerSettings returned = hosts.primaryAcceptsReverse();
      VirtualMachine vm = hosts.newVm("crm", DISK, DISK);
      hosts.replicate(vm, TwoHosts.settings().build());
      Random r = new Random(14);
      writeSome(hosts, hosts.primary, vm, r, 10);
      hosts.scheduler.advance(CYCLE);
      hosts.power.put(vm.id(), PowerState.OFF);
      hosts.await(hosts.plannedFailoverDone(vm));
      writeSome(hosts, hosts.replica, vm, r, 5);
      hosts.scheduler.advance(CYCLE);

      hosts.restartPrimary();
      hosts.primary.setReplicaServerSettings(returned);
      hosts.scheduler.runUntilIdle();
      assertEquals(ReplicationMode.REPLICA, hosts.primary.mode(vm.id()), "the replica is back after the restart");

      long before = hosts.network.payloadBytesSent(REPLICA, PRIMARY);
      writeSome(hosts, hosts.replica, vm, r, 5);
      for (int i = 0; i < 6; i++) {
        hosts.scheduler.advance(CYCLE);
      }
      assertEquals(ReplicationState.REPLICATING, hosts.replica.state(vm.id()));
      long sent = hosts.network.payloadBytesSent(REPLICA, PRIMARY) - before;
      assertTrue(sent > 0 && sent <= 5 * 4096, "after the restart only the new writes travel, not " + sent + " bytes");
      var tracker = hosts.replica.changeTracker(vm.id());
      for (int i = 0; i < vm.disks().size(); i++) {
        assertArrayEquals(TwoHosts.content(tracker.trackedDisk(vm.disks().get(i).id())),
            TwoHosts.content(vm.disks().get(i).disk()), "the old primary follows the new one, disk " + i);
      }
    }
  }

  private static void writeSome(TwoHosts hosts, io.replica.api.ReplicationManager on, VirtualMachine vm,
      Random r, int count) throws Exception {
    for (int i = 0; i < count; i++) {
      byte[] data = new byte[4096];
      r.nextBytes(data);
      on.changeTracker(vm.id()).trackedDisk(vm.disks().get(r.nextInt(2)).id())
          .write((long) r.nextInt((int) (DISK / 4096)) * 4096, ByteBuffer.wrap(data));
    }
  }
}
