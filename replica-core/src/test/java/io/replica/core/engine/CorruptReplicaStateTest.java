package io.replica.core.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replica.api.HealthState;
import io.replica.api.RecoveryPoint;
import io.replica.api.ReplicationHealth;
import io.replica.api.ReplicationMode;
import io.replica.api.ReplicationState;
import io.replica.api.VirtualMachine;
import io.replica.api.WrongStateException;
import io.replica.api.event.ReplicationEvent;
import io.replica.spi.storage.StateStore;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * One replica machine whose state on the replica host is damaged makes that machine Critical, and
 * only that one: the host's other machines load, replicate and fail over as before.
 */
class CorruptReplicaStateTest {
  private static final long DISK = 1L << 20;
  private static final Duration CYCLE = Duration.ofSeconds(30);

  @Test
  void aGarbageReplicaJsonMakesOnlyThatMachineCritical() throws Exception {
    try (TwoHosts hosts = new TwoHosts()) {
      VirtualMachine web = hosts.newVm("web01", DISK);
      VirtualMachine db = hosts.newVm("db01", DISK);
      hosts.replicate(web, TwoHosts.settings().build());
      hosts.replicate(db, TwoHosts.settings().build());
      StateStore state = hosts.replicaStorage.location(TwoHosts.LOCATION).state();
      state.write(web.id() + "/replica.json", "{ not json".getBytes(StandardCharsets.UTF_8));

      hosts.crashAndRestartReplica();

      assertEquals(Set.of(web.id(), db.id()), hosts.replica.virtualMachines());
      assertEquals(ReplicationMode.REPLICA, hosts.replica.mode(web.id()));
      assertEquals(ReplicationState.ERROR, hosts.replica.state(web.id()));
      ReplicationHealth health = hosts.replica.health(web.id());
      assertEquals(HealthState.CRITICAL, health.state());
      String reason = health.reasons().get(0);
      assertTrue(reason.startsWith("replica of virtual machine " + web.id() + " on "
          + TwoHosts.REPLICA + " cannot be loaded: replicas/" + web.id() + "/replica.json cannot be"
          + " read ("), reason);
      assertTrue(reason.endsWith("; restore the file from a backup and apply the replica server"
          + " settings again, or remove replication of the machine on this host and enable it again"
          + " from the primary"), reason);
      assertTrue(hosts.replicaEvents.stream().anyMatch(e -> e instanceof ReplicationEvent.HealthChanged h
          && h.vm().equals(web.id()) && h.health().state() == HealthState.CRITICAL), "an event tells");
      WrongStateException refused =
          assertThrows(WrongStateException.class, () -> hosts.replica.recoveryPoints(web.id()));
      assertEquals(reason, refused.getMessage());

      // The other machine replicates and fails over as before.
      assertEquals(ReplicationState.REPLICATING, hosts.replica.state(db.id()));
      assertEquals(HealthState.NORMAL, hosts.replica.health(db.id()).state());
      keepsReplicating(hosts, db, new Random(5));
      List<RecoveryPoint> points = hosts.replica.recoveryPoints(db.id());
      VirtualMachine test =
          hosts.await(hosts.replica.startTestFailover(db.id(), points.get(points.size() - 1)));
      assertEquals("db01 - Test", test.name());
      hosts.await(hosts.replica.stopTestFailover(db.id()));

      // Removing the broken machine's replication clears it; the primary can set it up again.
      hosts.await(hosts.replica.removeReplication(web.id()));
      assertEquals(Set.of(db.id()), hosts.replica.virtualMachines());
      assertTrue(state.read(web.id() + "/replica.json").isEmpty());
    }
  }

  @Test
  void aStrayFolderUnderUndoIsLeftAloneAndBreaksNothing() throws Exception {
    try (TwoHosts hosts = new TwoHosts()) {
      VirtualMachine web = hosts.newVm("web01", DISK);
      hosts.replicate(web, TwoHosts.settings().build());
      StateStore state = hosts.replicaStorage.location(TwoHosts.LOCATION).state();
      List<String> stray = List.of(web.id() + "/undo/notes/readme.txt", web.id() + "/undo/notes.txt",
          web.id() + "/undo/12x/a.undo", web.id() + "/undo/7/deeper/a.undo");
      for (String name : stray) {
        state.write(name, "operator's notes".getBytes(StandardCharsets.UTF_8));
      }

      hosts.crashAndRestartReplica();

      assertEquals(ReplicationState.REPLICATING, hosts.replica.state(web.id()));
      assertEquals(HealthState.NORMAL, hosts.replica.health(web.id()).state());
      for (String name : stray) {
        assertTrue(state.read(name).isPresent(), name + " is not the engine's and stays");
      }
      keepsReplicating(hosts, web, new Random(6));
    }
  }

  /** Writes, lets a few cycles run, and checks the replica's latest point equals the primary. */
  private static void keepsReplicating(TwoHosts hosts, VirtualMachine vm, Random r) throws Exception {
    for (int i = 0; i < 3; i++) {
      byte[] data = new byte[4096];
      r.nextBytes(data);
      hosts.write(vm, 0, (long) r.nextInt((int) (DISK / 4096)) * 4096, data);
      hosts.scheduler.advance(CYCLE);
    }
    hosts.scheduler.advance(CYCLE);
    hosts.scheduler.runUntilIdle();
    hosts.assertReplicaEquals(hosts.primaryContent(vm), vm, "after a restart with a damaged neighbour");
  }
}
