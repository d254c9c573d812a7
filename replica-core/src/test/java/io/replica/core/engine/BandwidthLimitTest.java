package io.replica.core.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replica.api.ReplicationSettings;
import io.replica.api.ReplicationState;
import io.replica.api.VirtualMachine;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** A relationship's bandwidth limit spreads a cycle's block data over time, on the engine's clock. */
class BandwidthLimitTest {
  private static final long DISK = 16L << 20;
  private static final long LIMIT = 1L << 20;
  private static final Duration CYCLE = Duration.ofSeconds(30);

  @Test
  void aCycleTravelsNoFasterThanTheLimitAndArrivesWhole() throws Exception {
    try (TwoHosts hosts = new TwoHosts()) {
      VirtualMachine vm = hosts.newVm("metered", DISK);
      hosts.replicate(vm, TwoHosts.settings().replicationFrequency(CYCLE).bandwidthBytesPerSecondMax(LIMIT).build());
      Random r = new Random(31);
      byte[] data = new byte[1 << 20];
      for (int i = 0; i < 8; i++) {
        r.nextBytes(data);
        hosts.write(vm, 0, (long) i << 20, data);
      }
      List<byte[]> atCut = hosts.primaryContent(vm);
      long before = hosts.payloadBytesSent();
      hosts.scheduler.advance(CYCLE); // the cut
      for (int second = 1; second <= 5; second++) {
        hosts.scheduler.advance(Duration.ofSeconds(1));
        long sent = hosts.payloadBytesSent() - before;
        // One second's worth may go at once, then the limit's rate, plus one chunk in flight.
        assertTrue(sent <= (second + 1) * LIMIT + (256 << 10), "after " + second + " s, " + sent + " bytes went");
      }
      for (int i = 0; i < 10; i++) {
        hosts.scheduler.advance(Duration.ofSeconds(1));
      }
      assertEquals(8L << 20, hosts.payloadBytesSent() - before, "the whole cycle arrived");
      assertEquals(ReplicationState.REPLICATING, hosts.primary.state(vm.id()));
      hosts.assertReplicaEquals(atCut, vm, "the metered cycle");
    }
  }

  @Test
  void aNegativeLimitIsRefusedWithWhatToDo() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> ReplicationSettings.builder("replica").bandwidthBytesPerSecondMax(-1));
    assertTrue(e.getMessage().contains("use 0 for no limit"), e.getMessage());
  }
}
