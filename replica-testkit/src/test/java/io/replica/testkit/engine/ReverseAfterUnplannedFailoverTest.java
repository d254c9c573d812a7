package io.replica.testkit.engine;

import static io.replica.testkit.engine.TwoHosts.PRIMARY;
import static io.replica.testkit.engine.TwoHosts.REPLICA;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replica.api.AuthenticationType;
import io.replica.api.RecoveryPoint;
import io.replica.api.ReplicaServerSettings;
import io.replica.api.ReplicationMode;
import io.replica.api.ReplicationSettings;
import io.replica.api.ReplicationState;
import io.replica.api.VirtualMachine;
import io.replica.spi.host.PowerState;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** After an unplanned failover the old primary comes back as the replica; only differing blocks travel. */
class ReverseAfterUnplannedFailoverTest {
  private static final long DISK = 4L << 20;
  private static final Duration CYCLE = Duration.ofSeconds(30);

  @Test
  void theOldPrimaryBecomesTheReplicaAndOnlyWhatDiffersTravels() throws Exception {
    try (TwoHosts hosts = new TwoHosts()) {
      hosts.primary.setReplicaServerSettings(ReplicaServerSettings.builder()
          .allowedAuthenticationTypes(Set.of(AuthenticationType.KERBEROS, AuthenticationType.CERTIFICATE))
          .allowAnyAuthenticatedServer("returned").build());
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
      hosts.await(hosts.replica.reverseReplication(vm.id(), ReplicationSettings.builder(PRIMARY)
          .replicationFrequency(CYCLE).build()));
      for (int i = 0; i < 20 && hosts.replica.state(vm.id()) != ReplicationState.REPLICATING; i++) {
        hosts.scheduler.advance(Duration.ofSeconds(5));
      }
      assertEquals(ReplicationMode.PRIMARY, hosts.replica.mode(vm.id()));
      assertEquals(ReplicationState.REPLICATING, hosts.replica.state(vm.id()));
      assertEquals(ReplicationMode.REPLICA, hosts.primary.mode(vm.id()));
      long sent = hosts.network.payloadBytesSent(REPLICA, PRIMARY) - before;
      assertTrue(sent <= 10 * 4096, "only the ten differing blocks travel back, not " + sent + " bytes");

      var tracker = hosts.replica.changeTracker(vm.id());
      for (int i = 0; i < 2; i++) {
        assertArrayEquals(TwoHosts.content(tracker.trackedDisk(vm.disks().get(i).id())),
            TwoHosts.content(vm.disks().get(i).disk()), "the old primary equals the new one, disk " + i);
      }
    }
  }
}
