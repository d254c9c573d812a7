package io.replica.core.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replica.api.AuthenticationType;
import io.replica.api.AuthorizationEntry;
import io.replica.api.DiskId;
import io.replica.api.HealthState;
import io.replica.api.NotFoundException;
import io.replica.api.ReplicaServerSettings;
import io.replica.api.ReplicationSettings;
import io.replica.api.ReplicationState;
import io.replica.api.VirtualMachine;
import io.replica.api.VmId;
import io.replica.api.WrongStateException;
import io.replica.api.event.ReplicationEvent;
import io.replica.spi.transport.ConnectOptions;
import io.replica.spi.transport.Connection;
import io.replica.spi.transport.Endpoint;
import io.replica.spi.transport.Message;
import io.replica.spi.transport.MessageHandler;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

/** Wrong input gets an error that names the machine, the setting or state and what is allowed; nothing changes. */
class ReplicationMisuseTest {
  private static final long DISK = 1L << 20;

  private static Throwable failure(TwoHosts hosts, CompletableFuture<?> future) {
    hosts.scheduler.runUntilIdle();
    CompletionException e = assertThrows(CompletionException.class, future::join);
    return e.getCause();
  }

  @Test
  void aFrequencyUnderOneSecondIsRefused() {
    var e = assertThrows(IllegalArgumentException.class,
        () -> ReplicationSettings.builder("r").replicationFrequency(Duration.ofMillis(999)));
    assertTrue(e.getMessage().contains("replication frequency PT0.999S") && e.getMessage().contains("1 second"),
        e.getMessage());
  }

  @Test
  void anUnknownDiskIsRefusedAndNothingChanges() {
    try (TwoHosts hosts = new TwoHosts()) {
      VirtualMachine vm = hosts.newVm("web", DISK);
      DiskId unknown = DiskId.of(new UUID(1, 2));
      Throwable e = failure(hosts, hosts.primary.enableReplication(vm,
          TwoHosts.settings().replicatedDisks(Set.of(vm.disks().get(0).id(), unknown)).build()));
      assertTrue(e instanceof IllegalArgumentException, e.toString());
      assertTrue(e.getMessage().contains(unknown.toString()) && e.getMessage().contains(vm.id().toString()),
          e.getMessage());
      assertTrue(hosts.primary.virtualMachines().isEmpty());
      assertEquals(0, hosts.network.openConnectionCount());
    }
  }

  @Test
  void theBootDiskMustBeReplicated() {
    try (TwoHosts hosts = new TwoHosts()) {
      VirtualMachine vm = hosts.newVm("web", DISK, DISK);
      Throwable e = failure(hosts, hosts.primary.enableReplication(vm,
          TwoHosts.settings().replicatedDisks(Set.of(vm.disks().get(1).id())).build()));
      assertTrue(e instanceof IllegalArgumentException && e.getMessage().contains("boot disk"), e.toString());
    }
  }

  @Test
  void enablingTwiceIsRefusedAndTheFirstRelationshipGoesOn() throws Exception {
    try (TwoHosts hosts = new TwoHosts()) {
      VirtualMachine vm = hosts.newVm("web", DISK);
      hosts.replicate(vm, TwoHosts.settings().build());
      Throwable e = failure(hosts, hosts.primary.enableReplication(vm, TwoHosts.settings().build()));
      assertTrue(e instanceof WrongStateException, e.toString());
      assertTrue(e.getMessage().contains(vm.id().toString()) && e.getMessage().contains("REPLICATING")
          && e.getMessage().contains("remove replication"), e.getMessage());
      assertEquals(ReplicationState.REPLICATING, hosts.primary.state(vm.id()));
      hosts.write(vm, 0, 0, new byte[512]);
      hosts.scheduler.advance(Duration.ofSeconds(30));
      assertEquals(1, hosts.primary.statistics(vm.id()).successfulReplicationCount());
    }
  }

  @Test
  void anOperationInTheWrongStateNamesTheStateAndWhatIsAllowed() throws Exception {
    try (TwoHosts hosts = new TwoHosts()) {
      VirtualMachine vm = hosts.newVm("web", DISK);
      hosts.replicate(vm, TwoHosts.settings().build());
      Throwable e = failure(hosts, hosts.primary.resumeReplication(vm.id()));
      assertTrue(e instanceof WrongStateException, e.toString());
      WrongStateException w = (WrongStateException) e;
      assertEquals(ReplicationState.REPLICATING, w.state());
      assertEquals(Set.of(ReplicationState.SUSPENDED, ReplicationState.RESYNCHRONIZE_SUSPENDED), w.allowed());
      assertTrue(w.getMessage().contains("resume replication") && w.getMessage().contains(vm.id().toString())
          && w.getMessage().contains("SUSPENDED"), w.getMessage());
      Throwable again = failure(hosts, hosts.primary.startInitialReplication(vm.id()));
      assertTrue(again instanceof WrongStateException && again.getMessage().contains("READY_FOR_INITIAL_REPLICATION"),
          again.toString());
      assertEquals(ReplicationState.REPLICATING, hosts.primary.state(vm.id()));
    }
  }

  @Test
  void unknownMachinesAreNotFound() {
    try (TwoHosts hosts = new TwoHosts()) {
      VmId ghost = VmId.of(new UUID(9, 9));
      Throwable e = failure(hosts, hosts.primary.suspendReplication(ghost));
      assertTrue(e instanceof NotFoundException && e.getMessage().contains(ghost.toString()), e.toString());
      assertThrows(NotFoundException.class, () -> hosts.primary.health(ghost));
      assertThrows(NotFoundException.class, () -> hosts.replica.recoveryPoints(ghost));
    }
  }

  @Test
  void settingsTheEngineDoesNotImplementYetAreRefusedNotIgnored() {
    try (TwoHosts hosts = new TwoHosts()) {
      VirtualMachine vm = hosts.newVm("web", DISK);
      List<ReplicationSettings> unsupported = List.of(
          TwoHosts.settings().compressionEnabled(true).build());
      for (ReplicationSettings s : unsupported) {
        Throwable e = failure(hosts, hosts.primary.enableReplication(vm, s));
        assertTrue(e instanceof UnsupportedOperationException, s + " gave " + e);
        assertTrue(e.getMessage().contains(vm.id().toString()), e.getMessage());
      }
      assertTrue(hosts.primary.virtualMachines().isEmpty());
    }
  }

  @Test
  void aStartTimeMoreThanSevenDaysAheadIsRefused() {
    try (TwoHosts hosts = new TwoHosts()) {
      VirtualMachine vm = hosts.newVm("web", DISK);
      Instant late = hosts.clock.instant().plus(Duration.ofDays(8));
      Throwable e = failure(hosts, hosts.primary.enableReplication(vm,
          TwoHosts.settings().initialReplicationStartTime(late).build()));
      assertTrue(e instanceof IllegalArgumentException && e.getMessage().contains("7 days"), e.toString());
    }
  }

  @Test
  void aScheduledInitialReplicationStartsAtItsTime() throws Exception {
    try (TwoHosts hosts = new TwoHosts()) {
      VirtualMachine vm = hosts.newVm("web", DISK);
      Instant at = hosts.clock.instant().plus(Duration.ofHours(3));
      hosts.await(hosts.primary.enableReplication(vm, TwoHosts.settings().initialReplicationStartTime(at).build()));
      CompletableFuture<Void> done = hosts.primary.startInitialReplication(vm.id());
      hosts.scheduler.advance(Duration.ofHours(2));
      assertEquals(ReplicationState.WAITING_FOR_INITIAL_REPLICATION, hosts.primary.state(vm.id()));
      assertTrue(!done.isDone());
      hosts.scheduler.advance(Duration.ofHours(1));
      assertTrue(done.isDone());
      assertEquals(ReplicationState.REPLICATING, hosts.primary.state(vm.id()));
    }
  }

  @Test
  void aCycleOutOfSequenceStopsTheReplicaWithoutWritingAnything() throws Exception {
    try (TwoHosts hosts = new TwoHosts()) {
      VirtualMachine vm = hosts.newVm("web", DISK);
      hosts.replicate(vm, TwoHosts.settings().build());
      List<byte[]> before = hosts.replicaContent(vm);
      List<Message> answers = new ArrayList<>();
      var rogue = hosts.network.transport(TwoHosts.PRIMARY);
      Connection c = hosts.await(rogue.connect(new Endpoint(TwoHosts.REPLICA, 80),
          new ConnectOptions(AuthenticationType.KERBEROS, false), new MessageHandler() {
            @Override
            public void onMessage(Connection connection, Message message) {
              answers.add(message);
            }

            @Override
            public void onClosed(Connection connection, @Nullable Throwable cause) {}
          }));
      c.send(new Message.CycleBegin(vm.id(), 7, 5, hosts.clock.instant(), null, false));
      c.send(new Message.BlockData(vm.id(), 7, 1, vm.disks().get(0).id(), 0, new byte[4096]));
      hosts.scheduler.runUntilIdle();
      assertTrue(answers.stream().anyMatch(m -> m instanceof Message.CycleRejected r && r.resynchronizationRequired()),
          answers.toString());
      assertEquals(ReplicationState.ERROR, hosts.replica.state(vm.id()));
      assertEquals(HealthState.CRITICAL, hosts.replica.health(vm.id()).state());
      hosts.assertReplicaEquals(before, vm, "a gap writes nothing");
    }
  }

  @Test
  void replicatingToThisHostIsRefusedWithTheReason() {
    try (TwoHosts hosts = new TwoHosts()) {
      VirtualMachine vm = hosts.newVm("web01", DISK);
      for (String self : List.of(TwoHosts.PRIMARY, "HV1.Contoso.COM.")) {
        Throwable e = failure(hosts, hosts.primary.enableReplication(vm,
            ReplicationSettings.builder(self).replicationFrequency(Duration.ofSeconds(30)).build()));
        assertTrue(e instanceof IllegalArgumentException, e.toString());
        assertEquals("cannot replicate 'web01' to '" + self + "': that is this host (choose another"
            + " replica server)", e.getMessage());
      }
      assertTrue(hosts.primary.virtualMachines().isEmpty());
      assertEquals(0, hosts.network.openConnectionCount());
    }
  }

  /** A name that reaches this host by another way still authenticates as this host. */
  @Test
  void aReplicaServerRefusesAPrimaryThatAuthenticatesAsItself() throws Exception {
    try (TwoHosts hosts = new TwoHosts()) {
      VirtualMachine vm = hosts.newVm("web01", DISK);
      List<Message> answers = new ArrayList<>();
      var itself = hosts.network.transport(TwoHosts.REPLICA);
      Connection c = hosts.await(itself.connect(new Endpoint(TwoHosts.REPLICA, 80),
          new ConnectOptions(AuthenticationType.KERBEROS, false), new MessageHandler() {
            @Override
            public void onMessage(Connection connection, Message message) {
              answers.add(message);
            }

            @Override
            public void onClosed(Connection connection, @Nullable Throwable cause) {}
          }));
      c.send(new Message.EnableRequest(vm.id(), "web01", TwoHosts.REPLICA,
          List.of(new Message.DiskDescriptor(vm.disks().get(0).id(), DISK, 512)),
          4096, 0, -1, false));
      hosts.scheduler.runUntilIdle();
      assertEquals(1, answers.size(), answers.toString());
      Message.EnableResponse answer = (Message.EnableResponse) answers.get(0);
      assertEquals(Message.EnableStatus.REFUSED, answer.status());
      assertEquals("primary '" + TwoHosts.REPLICA + "' is this host, " + TwoHosts.REPLICA
          + "; a machine cannot replicate to its own host (choose another replica server)",
          answer.reason());
      assertTrue(hosts.replica.virtualMachines().isEmpty());
      assertTrue(hosts.replicaStorage.location(TwoHosts.LOCATION).disks().list().isEmpty(),
          "a refused primary creates no disk");
    }
  }

  /** Authorization holds for every cycle, not only at enable: withdrawn, the next cycle is refused. */
  @Test
  void aPrimaryWhoseAuthorizationIsWithdrawnHasItsCyclesRefusedUntilItIsAuthorizedAgain() throws Exception {
    try (TwoHosts hosts = new TwoHosts()) {
      VirtualMachine vm = hosts.newVm("web", DISK);
      hosts.replicate(vm, TwoHosts.settings().build());
      List<byte[]> before = hosts.replicaContent(vm);
      ReplicaServerSettings open = hosts.replica.replicaServerSettings();
      hosts.replica.setReplicaServerSettings(ReplicaServerSettings.builder()
          .allowedAuthenticationTypes(open.allowedAuthenticationTypes())
          .addAuthorizationEntry(new AuthorizationEntry("hv9.contoso.com", TwoHosts.LOCATION, "other")).build());
      byte[] data = new byte[4096];
      java.util.Arrays.fill(data, (byte) 7);
      hosts.write(vm, 0, 0, data);
      int seen = hosts.primaryEvents.size();
      hosts.scheduler.advance(Duration.ofSeconds(31));
      assertTrue(hosts.primaryEvents.subList(seen, hosts.primaryEvents.size()).stream()
              .anyMatch(e -> e instanceof ReplicationEvent.ReplicationFailed f
                  && f.reason().contains("'" + TwoHosts.PRIMARY + "' is not authorized for virtual machine " + vm.id())),
          hosts.primaryEvents.subList(seen, hosts.primaryEvents.size()).toString());
      hosts.assertReplicaEquals(before, vm, "a refused cycle writes nothing");
      hosts.replica.setReplicaServerSettings(open);
      List<byte[]> primary = hosts.primaryContent(vm);
      for (int i = 0; i < 10 && !java.util.Arrays.deepEquals(hosts.replicaContent(vm).toArray(), primary.toArray()); i++) {
        hosts.scheduler.advance(Duration.ofSeconds(31));
      }
      hosts.assertReplicaEquals(primary, vm, "authorized again, the changes arrive");
    }
  }
}
