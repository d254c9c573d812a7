package io.replica.testkit.engine;

import static io.replica.testkit.engine.TwoHosts.PRIMARY;
import static io.replica.testkit.engine.TwoHosts.REPLICA;
import static org.junit.jupiter.api.Assertions.assertEquals;
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

  private static void write(TwoHosts hosts, VirtualMachine vm, Random r, int count, long base) throws Exception {
    for (int i = 0; i < count; i++) {
      byte[] data = new byte[4096];
      r.nextBytes(data);
      hosts.write(vm, i % 2, base + (long) r.nextInt(1024) * 4096, data);
    }
  }
}
