package io.replica.core.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.replica.api.ReplicationSettings;
import io.replica.api.VirtualMachine;
import io.replica.api.event.ReplicationEvent;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Copy-before-write spills to the primary's state store: a primary engine closed with a cycle in
 * flight and started again on the same store must still be able to spill.
 */
class SpillAcrossEngineRestartTest {
  private static final long DISK = 8L << 20;
  private static final Duration CYCLE = Duration.ofSeconds(30);
  private static final ReplicationSettings SETTINGS = TwoHosts.settings().replicationFrequency(CYCLE)
      .bandwidthBytesPerSecondMax(256L << 10).build();

  @Test
  void aRestartedEngineSpillsAgainAfterAnEngineClosedWithASpillOpen() throws Exception {
    try (TwoHosts hosts = TwoHosts.withPersistentPrimary()) {
      hosts.copyBeforeWriteMemoryBytes = 0; // every preserved block spills
      hosts.closeAndStartPrimary();
      VirtualMachine vm = hosts.newVm("spilling", DISK);
      hosts.replicate(vm, SETTINGS);
      Random r = new Random(5);

      cycleWithASpill(hosts, vm, r); // sanity: the spill works on the first engine
      // The cut of the next cycle, then a guest write that spills, then the engine closes.
      dirty(hosts, vm, r);
      untilTheCut(hosts);
      hosts.write(vm, 0, (1L << 20) - 4096, random(r));
      hosts.closeAndStartPrimary();
      hosts.await(hosts.primary.enableReplication(vm, SETTINGS));

      for (int i = 0; i < 2; i++) {
        cycleWithASpill(hosts, vm, r);
      }
    }
  }

  /** One metered cycle during which a guest write overwrites a frozen block not sent yet. */
  private static void cycleWithASpill(TwoHosts hosts, VirtualMachine vm, Random r) throws IOException {
    dirty(hosts, vm, r);
    List<byte[]> atCut = hosts.primaryContent(vm);
    int seen = hosts.primaryEvents.size();
    untilTheCut(hosts); // the first quarter MiB goes at once
    hosts.write(vm, 0, (1L << 20) - 4096, random(r)); // frozen, unsent: preserved, spilled
    hosts.scheduler.advance(Duration.ofSeconds(10)); // the rest goes, within the cycle
    long completed = hosts.primaryEvents.subList(seen, hosts.primaryEvents.size()).stream()
        .filter(e -> e instanceof ReplicationEvent.CycleCompleted).count();
    assertEquals(1, completed, "the cycle with a spilled block completed; events "
        + hosts.primaryEvents.subList(seen, hosts.primaryEvents.size()));
    hosts.assertReplicaEquals(atCut, vm, "the cycle with a spilled block");
  }

  /** Advances second by second up to the next cycle's cut. */
  private static void untilTheCut(TwoHosts hosts) {
    int seen = hosts.primaryEvents.size();
    for (int s = 0; s <= CYCLE.toSeconds(); s++) {
      hosts.scheduler.advance(Duration.ofSeconds(1));
      if (hosts.primaryEvents.subList(seen, hosts.primaryEvents.size()).stream()
          .anyMatch(e -> e instanceof ReplicationEvent.CycleStarted)) {
        return;
      }
    }
    throw new AssertionError("no cut within " + CYCLE);
  }

  private static void dirty(TwoHosts hosts, VirtualMachine vm, Random r) throws IOException {
    for (long at = 0; at < (1L << 20); at += 4096) {
      hosts.write(vm, 0, at, random(r));
    }
  }

  private static byte[] random(Random r) {
    byte[] b = new byte[4096];
    r.nextBytes(b);
    return b;
  }
}
