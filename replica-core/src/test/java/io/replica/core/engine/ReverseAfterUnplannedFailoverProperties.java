package io.replica.core.engine;

import static io.replica.core.engine.TwoHosts.PRIMARY;
import static io.replica.core.engine.TwoHosts.REPLICA;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.longs;

import io.replica.api.RecoveryHistory;
import io.replica.api.RecoveryPoint;
import io.replica.api.ReplicationSettings;
import io.replica.api.ReplicationState;
import io.replica.api.VirtualMachine;
import io.replica.spi.host.PowerState;
import io.replica.spi.storage.VirtualDisk;
import io.replica.spi.transport.Message;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Reverse replication after an unplanned failover, over random histories: however the primary
 * site was lost (a failed cycle, lost acknowledgements, a restart before or while cut off), whichever
 * point the replica failed over to and whatever it wrote since, the old primary ends equal to the
 * new one. The comparison is narrowed to the blocks either side changed, so a block that narrowing
 * wrongly left out shows here as a difference.
 */
class ReverseAfterUnplannedFailoverProperties {
  private static final long DISK = 1L << 20;
  private static final Duration CYCLE = Duration.ofSeconds(30);

  @Test
  void theOldPrimaryEndsEqualToTheNewOne() {
    qt().withExamples(120).forAll(longs().all()).checkAssert(ReverseAfterUnplannedFailoverProperties::run);
  }

  private static void run(long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    try (TwoHosts hosts = TwoHosts.withPersistentPrimary()) {
      hosts.primaryAcceptsReverse();
      VirtualMachine vm = r.nextBoolean() ? hosts.newVm("vm", DISK) : hosts.newVm("vm", DISK, DISK);
      ReplicationSettings settings = TwoHosts.settings().recoveryHistory(r.nextBoolean()
          ? RecoveryHistory.latestOnly() : new RecoveryHistory(1 + r.nextInt(4), Duration.ofMinutes(1), 0)).build();
      hosts.replicate(vm, settings);
      int rounds = 2 + r.nextInt(6);
      int crashAt = r.nextInt(3) == 0 ? r.nextInt(rounds) : -1;
      for (int i = 0; i < rounds; i++) {
        writeSome(hosts, vm, r, r.nextInt(12));
        if (i == crashAt) {
          hosts.restartPrimary(); // the hot extents of the activity log carry what was not acknowledged
          hosts.primaryAcceptsReverse();
          hosts.await(hosts.primary.enableReplication(vm, settings));
        }
        hosts.scheduler.advance(r.nextBoolean() ? CYCLE : CYCLE.multipliedBy(2));
      }
      // How the primary site is lost.
      switch (r.nextInt(3)) {
        case 0 -> { // in the middle of a cycle: it never arrives
          writeSome(hosts, vm, r, 1 + r.nextInt(8));
          hosts.network.faults().partition(PRIMARY, REPLICA);
          hosts.scheduler.advance(CYCLE);
        }
        case 1 -> { // the replica takes the last cycle, but its acknowledgement is lost
          writeSome(hosts, vm, r, 1 + r.nextInt(8));
          hosts.network.faults().dropMatching(REPLICA, PRIMARY, m -> m instanceof Message.CycleAck);
          hosts.scheduler.advance(CYCLE);
          hosts.network.faults().partition(PRIMARY, REPLICA);
        }
        default -> hosts.network.faults().partition(PRIMARY, REPLICA);
      }
      writeSome(hosts, vm, r, r.nextInt(6)); // writes the replica never hears of
      if (r.nextInt(3) == 0) { // the old primary restarts cut off, and resumes from its saved state
        hosts.restartPrimary();
        hosts.primaryAcceptsReverse();
        hosts.primary.enableReplication(vm, settings);
        hosts.scheduler.advance(Duration.ofSeconds(5));
        writeSome(hosts, vm, r, r.nextInt(4));
      }
      hosts.power.put(vm.id(), PowerState.OFF);

      List<RecoveryPoint> points = hosts.replica.recoveryPoints(vm.id());
      RecoveryPoint point = points.get(r.nextInt(points.size()));
      hosts.await(hosts.replica.failover(vm.id(), point, true));
      VirtualMachine running = hosts.await(hosts.replica.commitFailover(vm.id()));
      for (int i = r.nextInt(8); i > 0; i--) {
        writeBlock(running.disks().get(r.nextInt(running.disks().size())).disk(), r);
      }

      hosts.network.faults().clear();
      hosts.network.faults().heal();
      hosts.await(hosts.replica.reverseReplication(vm.id(), ReplicationSettings.builder(PRIMARY)
          .replicationFrequency(CYCLE).build()));
      for (int i = 0; i < 30 && hosts.replica.state(vm.id()) != ReplicationState.REPLICATING; i++) {
        hosts.scheduler.advance(Duration.ofSeconds(5));
      }
      assertEquals(ReplicationState.REPLICATING, hosts.replica.state(vm.id()), "seed " + seed);
      for (int i = r.nextInt(4); i > 0; i--) { // the machine keeps writing through the same disks
        writeBlock(running.disks().get(r.nextInt(running.disks().size())).disk(), r);
      }
      hosts.scheduler.advance(CYCLE);
      hosts.scheduler.advance(CYCLE);
      for (int d = 0; d < vm.disks().size(); d++) {
        assertArrayEquals(TwoHosts.content(running.disks().get(d).disk()), TwoHosts.content(vm.disks().get(d).disk()),
            "seed " + seed + ": the old primary differs from the new one, disk " + d);
      }
    } catch (Exception e) {
      throw new AssertionError("seed " + seed, e);
    }
  }

  private static void writeSome(TwoHosts hosts, VirtualMachine vm, SplittableRandom r, int count) throws Exception {
    for (int i = 0; i < count; i++) {
      byte[] data = new byte[4096];
      r.nextBytes(data);
      hosts.write(vm, r.nextInt(vm.disks().size()), r.nextLong(DISK / 4096) * 4096, data);
    }
  }

  private static void writeBlock(VirtualDisk disk, SplittableRandom r) throws Exception {
    byte[] data = new byte[4096 * (1 + r.nextInt(3))];
    r.nextBytes(data);
    disk.write(r.nextLong(DISK / 4096 - 2) * 4096, ByteBuffer.wrap(data));
  }
}
