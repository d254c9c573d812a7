package io.replica.core.engine;

import static io.replica.core.engine.TwoHosts.PRIMARY;
import static io.replica.core.engine.TwoHosts.REPLICA;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replica.api.DiskId;
import io.replica.api.HealthState;
import io.replica.api.ReplicationHealth;
import io.replica.api.ReplicationSettings;
import io.replica.api.ReplicationState;
import io.replica.api.VerificationResult;
import io.replica.api.VirtualMachine;
import io.replica.api.VmDisk;
import io.replica.api.VmId;
import io.replica.api.WrongStateException;
import io.replica.api.event.ReplicationEvent;
import io.replica.spi.storage.ByteRange;
import io.replica.spi.storage.DiskSpec;
import io.replica.spi.storage.VirtualDisk;
import io.replica.spi.transport.Message;
import io.replica.testkit.memory.InMemoryVirtualDisk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;

/**
 * Online verify: the replica's latest point is compared with the primary's disks by hashes while
 * replication goes on; what differs is reported and repaired by a resynchronization of those ranges.
 */
class VerifyTest {
  private static final long DISK = 16L << 20;
  private static final Duration CYCLE = Duration.ofSeconds(30);

  private static void randomWrites(TwoHosts hosts, VirtualMachine vm, Random r, int count, long avoid)
      throws IOException {
    for (int i = 0; i < count; i++) {
      long offset = (long) r.nextInt((int) (DISK / 4096)) * 4096;
      if (offset == avoid) {
        continue;
      }
      byte[] data = new byte[4096];
      r.nextBytes(data);
      hosts.write(vm, r.nextInt(vm.disks().size()), offset, data);
    }
  }

  private static void changeReplicaBehindTheEnginesBack(TwoHosts hosts, VirtualMachine vm, DiskId disk, long offset)
      throws IOException {
    VirtualDisk d = hosts.replicaStorage.location(TwoHosts.LOCATION).disks().open(vm.id() + "/disks/" + disk, false);
    byte[] block = new byte[4096];
    d.read(offset, ByteBuffer.wrap(block));
    block[100] ^= 0x5A;
    d.write(offset, ByteBuffer.wrap(block));
    d.flush();
    d.close();
  }

  /** Lets cycles run until the primary replicates again (a repair resynchronization completed). */
  private static void untilReplicating(TwoHosts hosts, VirtualMachine vm) {
    for (int i = 0; i < 40 && (hosts.primary.state(vm.id()) != ReplicationState.REPLICATING
        || hosts.primary.health(vm.id()).state() == HealthState.CRITICAL); i++) {
      hosts.scheduler.advance(Duration.ofSeconds(5));
    }
    assertEquals(ReplicationState.REPLICATING, hosts.primary.state(vm.id()));
  }

  private static VerificationResult verifyNow(TwoHosts hosts, VirtualMachine vm) {
    CompletableFuture<VerificationResult> f = hosts.primary.verify(vm.id());
    for (int i = 0; i < 100 && !f.isDone(); i++) {
      hosts.scheduler.advance(Duration.ofSeconds(1));
    }
    assertTrue(f.isDone(), "verify did not complete");
    return f.join();
  }

  @Test
  void aReplicaBlockChangedBehindTheEnginesBackIsReportedWhileReplicatingAndRepairedByTheNextResync()
      throws Exception {
    try (TwoHosts hosts = new TwoHosts()) {
      VirtualMachine vm = hosts.newVm("verified", DISK, DISK);
      Random r = new Random(10);
      hosts.replicate(vm, TwoHosts.settings().build());
      randomWrites(hosts, vm, r, 300, -1);
      hosts.scheduler.advance(CYCLE);
      DiskId second = vm.disks().get(1).id();
      long corrupt = 3L << 20;
      changeReplicaBehindTheEnginesBack(hosts, vm, second, corrupt);

      // Answers take a while, so the verify spans several cycles while the guest keeps writing.
      hosts.network.faults().delay(PRIMARY, REPLICA, Duration.ofSeconds(10));
      hosts.network.faults().delay(REPLICA, PRIMARY, Duration.ofSeconds(10));
      int eventsBefore = hosts.primaryEvents.size();
      CompletableFuture<VerificationResult> f = hosts.primary.verify(vm.id());
      int steps = 0;
      while (!f.isDone() && steps++ < 200) {
        randomWrites(hosts, vm, r, 5, corrupt);
        hosts.scheduler.advance(Duration.ofSeconds(5));
      }
      assertTrue(f.isDone(), "verify did not complete");
      VerificationResult result = f.join();
      List<ReplicationEvent> during = hosts.primaryEvents.subList(eventsBefore, hosts.primaryEvents.size());
      long cyclesDuring = during.stream().takeWhile(e -> !(e instanceof ReplicationEvent.VerifyCompleted))
          .filter(e -> e instanceof ReplicationEvent.CycleCompleted).count();
      assertEquals(List.of(new VerificationResult.DifferingRange(second, corrupt, 4096)), result.differences(),
          "exactly the changed block differs, although the guest wrote all the while");
      assertTrue(cyclesDuring >= 2, "replication went on during the verify: " + cyclesDuring + " cycles completed");
      assertEquals(2, result.disks());
      assertEquals(2 * DISK, result.comparedBytes() + result.uncomparedBytes());
      assertTrue(result.comparedBytes() > DISK, "most blocks were compared: " + result.comparedBytes());
      ReplicationEvent.VerifyCompleted event = (ReplicationEvent.VerifyCompleted) during.stream()
          .filter(e -> e instanceof ReplicationEvent.VerifyCompleted).findFirst().orElseThrow();
      assertEquals(result, event.result());
      ReplicationHealth health = hosts.primary.health(vm.id());
      assertEquals(HealthState.CRITICAL, health.state(), health.toString());
      assertTrue(health.reasons().stream().anyMatch(s -> s.contains(second + " [" + corrupt + ", " + (corrupt + 4096)
          + ")")), "the health names the range: " + health);

      // The resynchronization of that range repairs it, and the health recovers.
      hosts.network.faults().clear();
      untilReplicating(hosts, vm);
      assertEquals(HealthState.NORMAL, hosts.primary.health(vm.id()).state(), hosts.primary.health(vm.id()).toString());
      hosts.scheduler.advance(CYCLE);
      hosts.assertReplicaEquals(hosts.primaryContent(vm), vm, "after the repair");

      VerificationResult again = verifyNow(hosts, vm);
      assertTrue(again.matches(), "nothing differs any more: " + again.differences());
      assertEquals(2 * DISK, again.comparedBytes());
      assertEquals(0, again.uncomparedBytes());
    }
  }

  @Test
  void everyBlockIsComparedSoAStorageWhoseAllocatedRangesLieCannotHideADifference() throws Exception {
    try (TwoHosts hosts = new TwoHosts()) {
      // The primary's disk says nothing is allocated, though it holds data: initial replication
      // copies nothing, and nothing but a verify can tell.
      InMemoryVirtualDisk real = InMemoryVirtualDisk.create(DiskSpec.dynamic(DISK));
      real.write(5L << 20, ByteBuffer.wrap(new byte[8192]).put(0, (byte) 1).put(4096, (byte) 2));
      VirtualDisk lying = new LyingDisk(real);
      DiskId disk = DiskId.of(UUID.nameUUIDFromBytes("lying".getBytes()));
      VirtualMachine vm = new VirtualMachine(VmId.of(UUID.nameUUIDFromBytes("liar".getBytes())), "liar",
          List.of(new VmDisk(disk, lying, true)));
      hosts.replicate(vm, TwoHosts.settings().build());

      VerificationResult result = verifyNow(hosts, vm);
      assertEquals(List.of(new VerificationResult.DifferingRange(disk, 5L << 20, 8192)), result.differences());
      assertEquals(DISK, result.comparedBytes());
      untilReplicating(hosts, vm);
      hosts.assertReplicaEquals(hosts.primaryContent(vm), vm, "after the repair");
      assertTrue(verifyNow(hosts, vm).matches());
    }
  }

  @Test
  void aVerifyWhoseRequestsAreLostAsksAgain() throws Exception {
    try (TwoHosts hosts = new TwoHosts()) {
      VirtualMachine vm = hosts.newVm("lossy", DISK);
      hosts.replicate(vm, TwoHosts.settings().build());
      hosts.network.faults().dropNext(PRIMARY, REPLICA, 2);
      CompletableFuture<VerificationResult> f = hosts.primary.verify(vm.id());
      for (int i = 0; i < 100 && !f.isDone(); i++) {
        hosts.scheduler.advance(Duration.ofSeconds(10));
      }
      assertTrue(f.isDone(), "verify did not complete");
      assertTrue(f.join().matches());
      assertEquals(DISK, f.join().comparedBytes());
    }
  }

  @Test
  void aVerifyRunsOnItsSchedule() throws Exception {
    try (TwoHosts hosts = new TwoHosts()) {
      VirtualMachine vm = hosts.newVm("scheduled", DISK);
      hosts.replicate(vm, TwoHosts.settings().verifyInterval(Duration.ofHours(6)).build());
      changeReplicaBehindTheEnginesBack(hosts, vm, vm.disks().get(0).id(), 4096);
      hosts.scheduler.advance(Duration.ofHours(6).minusMinutes(1));
      assertTrue(verifies(hosts).isEmpty(), "no verify before its interval");
      hosts.scheduler.advance(Duration.ofMinutes(2));
      List<VerificationResult> done = verifies(hosts);
      assertEquals(1, done.size(), "one verify after six hours");
      assertEquals(List.of(new VerificationResult.DifferingRange(vm.disks().get(0).id(), 4096, 4096)),
          done.get(0).differences());
      hosts.scheduler.advance(Duration.ofHours(6));
      done = verifies(hosts);
      assertEquals(2, done.size(), "and another six hours later");
      assertTrue(done.get(1).matches(), "the repair held: " + done.get(1).differences());
    }
  }

  @Test
  void withoutAnIntervalNoVerifyRunsByItself() throws Exception {
    try (TwoHosts hosts = new TwoHosts()) {
      VirtualMachine vm = hosts.newVm("unscheduled", DISK);
      hosts.replicate(vm, TwoHosts.settings().build());
      assertTrue(hosts.primary.settings(vm.id()).verifyInterval().isEmpty(), "off by default");
      hosts.scheduler.advance(Duration.ofDays(2));
      assertTrue(verifies(hosts).isEmpty());
    }
  }

  @Test
  void verifyIsAPrimaryOperationOfAReplicatingMachine() throws Exception {
    try (TwoHosts hosts = new TwoHosts()) {
      VirtualMachine vm = hosts.newVm("roles", DISK);
      hosts.await(hosts.primary.enableReplication(vm, TwoHosts.settings().build()));
      CompletionException before = assertThrows(CompletionException.class,
          () -> hosts.primary.verify(vm.id()).join());
      assertInstanceOf(WrongStateException.class, before.getCause());
      hosts.await(hosts.primary.startInitialReplication(vm.id()));
      CompletionException onReplica = assertThrows(CompletionException.class,
          () -> hosts.replica.verify(vm.id()).join());
      assertInstanceOf(WrongStateException.class, onReplica.getCause());
      assertTrue(onReplica.getCause().getMessage().contains("primary operation"), onReplica.getCause().getMessage());

      // Suspending replication stops a running verify with a reason.
      hosts.network.faults().delay(REPLICA, PRIMARY, Duration.ofSeconds(10));
      CompletableFuture<VerificationResult> running = hosts.primary.verify(vm.id());
      hosts.await(hosts.primary.suspendReplication(vm.id()));
      assertTrue(running.isCompletedExceptionally());
      CompletionException stopped = assertThrows(CompletionException.class, running::join);
      assertInstanceOf(WrongStateException.class, stopped.getCause());
      assertFalse(hosts.primary.health(vm.id()).state() == HealthState.CRITICAL);
    }
  }

  @Test
  void theIntervalIsAtLeastAMinute() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> ReplicationSettings.builder("r").verifyInterval(Duration.ofSeconds(59)));
    assertTrue(e.getMessage().contains("at least"), e.getMessage());
  }

  @Test
  void theVerifyMessagesCarryWhatTheyName() {
    Message.VerifyResponse a = new Message.VerifyResponse(VmId.of(new UUID(1, 2)), 3, DiskId.of(new UUID(3, 4)),
        4096, 4096, 7, new byte[16], "");
    Message.VerifyResponse b = new Message.VerifyResponse(a.vm(), 3, a.disk(), 4096, 4096, 7, new byte[16], "");
    assertEquals(a, b, "equal by content, hashes included");
    assertTrue(a.toString().contains("blocks=1"), a.toString());
  }

  private static List<VerificationResult> verifies(TwoHosts hosts) {
    return hosts.primaryEvents.stream().filter(e -> e instanceof ReplicationEvent.VerifyCompleted)
        .map(e -> ((ReplicationEvent.VerifyCompleted) e).result()).toList();
  }

  /** A disk that says nothing is allocated, whatever it holds. */
  private static final class LyingDisk extends io.replica.testkit.memory.ForwardingVirtualDisk {
    LyingDisk(VirtualDisk disk) {
      super(disk);
    }

    @Override
    public boolean isReadOnly() {
      return false;
    }

    @Override
    public List<ByteRange> allocatedRanges() {
      return List.of();
    }
  }
}
