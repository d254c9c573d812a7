package io.replica.benchmarks;

import io.replica.api.AuthenticationType;
import io.replica.api.DiskId;
import io.replica.api.RecoveryHistory;
import io.replica.api.RecoveryPoint;
import io.replica.api.ReplicaServerSettings;
import io.replica.api.ReplicationManager;
import io.replica.api.ReplicationSettings;
import io.replica.api.VirtualMachine;
import io.replica.api.VmDisk;
import io.replica.api.VmId;
import io.replica.core.ReplicaEngine;
import io.replica.spi.storage.DiskSpec;
import io.replica.storage.vhdx.DirectoryStorageProvider;
import io.replica.testkit.memory.InMemoryNetwork;
import io.replica.testkit.memory.InMemoryStorageProvider;
import io.replica.testkit.memory.InMemoryVirtualDisk;
import io.replica.testkit.time.ManualClock;
import io.replica.testkit.time.ManualScheduler;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;

/**
 * Time to fail over to the latest recovery point and to the oldest of 24 additional points, on a
 * 64 GiB sparse disk kept as a VHDX file with its undo logs on the local file system.
 *
 * <p>The primary's disk is in memory; the replica keeps real files under a temporary folder (or
 * the folder given as the first argument). Each minute the guest rewrites {@code churn} MiB of random
 * 4 KiB blocks in a hot 1 GiB region (second argument, default 16), and a recovery point is kept. A failover
 * hands back a machine whose disks read the point; it is timed until then, cancelled, and timed
 * again, and the median of five is reported. Run it as
 * {@code java -cp replica-benchmarks/target/benchmarks.jar io.replica.benchmarks.FailoverTimeBench [DIR] [CHURN_MIB]}.
 */
public final class FailoverTimeBench {
  private static final long DISK_BYTES = 64L << 30;
  private static final int POINTS = 24;
  private static final int BLOCK = 4096;
  private static final int RUNS = 5;
  private static final long HOT_BYTES = 1L << 30;

  private FailoverTimeBench() {}

  public static void main(String[] args) throws Exception {
    Path dir = args.length > 0 ? Path.of(args[0]) : Files.createTempDirectory("failover-bench");
    int churnMiB = args.length > 1 ? Integer.parseInt(args[1]) : 16;
    Files.createDirectories(dir);
    ManualClock clock = new ManualClock(Instant.parse("2026-01-01T00:00:00Z"));
    ManualScheduler scheduler = new ManualScheduler(clock);
    InMemoryNetwork network = new InMemoryNetwork(scheduler);
    ReplicationManager replica = ReplicaEngine.builder().hostName("replica").clock(clock).scheduler(scheduler)
        .transport(network.transport("replica")).storage(new DirectoryStorageProvider()).build();
    replica.setReplicaServerSettings(ReplicaServerSettings.builder()
        .allowedAuthenticationTypes(Set.of(AuthenticationType.KERBEROS))
        .allowAnyAuthenticatedServer(dir.toAbsolutePath().toString()).build());
    ReplicationManager primary = ReplicaEngine.builder().hostName("primary").clock(clock).scheduler(scheduler)
        .transport(network.transport("primary")).storage(new InMemoryStorageProvider()).build();
    try {
      InMemoryVirtualDisk disk = InMemoryVirtualDisk.create(DiskSpec.dynamic(DISK_BYTES));
      DiskId diskId = DiskId.of(new UUID(1, 1));
      VirtualMachine vm = new VirtualMachine(VmId.of(new UUID(2, 2)), "bench", List.of(new VmDisk(diskId, disk, true)));
      SplittableRandom random = new SplittableRandom(64);
      byte[] run = new byte[1 << 20];
      for (int i = 0; i < 64; i++) { // 64 MiB in 1 MiB runs across the disk for the initial replication
        random.nextBytes(run);
        disk.write(random.nextLong(DISK_BYTES >> 20) << 20, ByteBuffer.wrap(run));
      }
      await(scheduler, primary.enableReplication(vm, ReplicationSettings.builder("replica")
          .replicationFrequency(Duration.ofSeconds(30))
          .recoveryHistory(new RecoveryHistory(POINTS, Duration.ofMinutes(1), 0)).build()));
      long start = System.nanoTime();
      await(scheduler, primary.startInitialReplication(vm.id()));
      System.out.printf("initial replication: %.1f s%n", (System.nanoTime() - start) / 1e9);
      var tracked = primary.changeTracker(vm.id()).trackedDisk(diskId);
      start = System.nanoTime();
      while (replica.recoveryPoints(vm.id()).size() < POINTS + 1) {
        writeRandom(tracked, random, churnMiB);
        scheduler.advance(Duration.ofMinutes(1));
      }
      List<RecoveryPoint> points = replica.recoveryPoints(vm.id());
      System.out.printf("%d points of %d MiB churn each: %.1f s; replica folder holds %d MiB%n", points.size(),
          churnMiB, (System.nanoTime() - start) / 1e9, folderBytes(dir) >> 20);

      RecoveryPoint latest = points.get(points.size() - 1);
      RecoveryPoint oldest = points.get(0);
      double[] toLatest = new double[RUNS];
      double[] toOldest = new double[RUNS];
      for (int i = 0; i < RUNS; i++) {
        // Failing over to the latest point keeps it as a point, which may prune the oldest: look again.
        List<RecoveryPoint> now = replica.recoveryPoints(vm.id());
        oldest = now.get(now.size() - 1 - POINTS);
        toOldest[i] = failoverMillis(scheduler, replica, vm.id(), oldest, disk.sizeBytes());
        toLatest[i] = failoverMillis(scheduler, replica, vm.id(), latest, disk.sizeBytes());
      }
      System.out.printf("fail over to the latest point (cycle %d): median %.1f ms, runs %s%n", latest.cycle(),
          median(toLatest), Arrays.toString(toLatest));
      System.out.printf("fail over to the point %d back (cycle %d): median %.1f ms, runs %s%n", POINTS,
          oldest.cycle(), median(toOldest), Arrays.toString(toOldest));
      await(scheduler, replica.failover(vm.id(), oldest, true));
      start = System.nanoTime();
      await(scheduler, replica.commitFailover(vm.id()));
      System.out.printf("commit of the point %d back (writes the rolled-back blocks into the disk): %.1f ms%n",
          POINTS, (System.nanoTime() - start) / 1e6);
    } finally {
      primary.close();
      replica.close();
      scheduler.runUntilIdle();
      if (args.length == 0) {
        deleteTree(dir);
      }
    }
  }

  /** Fails over to {@code point}, reads the first and last block of the disk, and cancels; returns the milliseconds to the machine. */
  private static double failoverMillis(ManualScheduler scheduler, ReplicationManager replica, VmId vm,
      RecoveryPoint point, long size) throws IOException {
    long start = System.nanoTime();
    VirtualMachine machine = await(scheduler, replica.failover(vm, point, true));
    double millis = (System.nanoTime() - start) / 1e6;
    ByteBuffer buf = ByteBuffer.allocate(BLOCK);
    machine.disks().get(0).disk().read(0, buf);
    machine.disks().get(0).disk().read(size - BLOCK, buf.clear());
    await(scheduler, replica.cancelFailover(vm));
    return Math.round(millis * 10) / 10.0;
  }

  /** Random 4 KiB writes into the first {@link #HOT_BYTES} of the disk, where a guest's churn concentrates. */
  private static void writeRandom(io.replica.spi.storage.VirtualDisk disk, SplittableRandom random, int mib)
      throws IOException {
    byte[] data = new byte[BLOCK];
    for (int i = 0; i < (mib << 20) / BLOCK; i++) {
      random.nextBytes(data);
      disk.write(random.nextLong(HOT_BYTES / BLOCK) * BLOCK, ByteBuffer.wrap(data));
    }
  }

  private static <T> T await(ManualScheduler scheduler, CompletableFuture<T> f) {
    scheduler.runUntilIdle();
    return f.join();
  }

  private static double median(double[] values) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    return sorted[sorted.length / 2];
  }

  private static long folderBytes(Path dir) throws IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      long total = 0;
      for (Path p : files.filter(Files::isRegularFile).toList()) {
        total += Files.size(p);
      }
      return total;
    }
  }

  private static void deleteTree(Path dir) throws IOException {
    List<Path> all = new ArrayList<>();
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(all::add);
    }
    for (Path p : all) {
      Files.deleteIfExists(p);
    }
  }
}
