package io.replica.benchmarks;

import io.replica.api.AuthenticationType;
import io.replica.api.DiskId;
import io.replica.api.ReplicaServerSettings;
import io.replica.api.ReplicationManager;
import io.replica.api.ReplicationSettings;
import io.replica.api.VirtualMachine;
import io.replica.api.VmDisk;
import io.replica.api.VmId;
import io.replica.core.ReplicaEngine;
import io.replica.spi.storage.DiskSpec;
import io.replica.spi.storage.VirtualDisk;
import io.replica.testkit.memory.InMemoryNetwork;
import io.replica.testkit.memory.InMemoryStorageProvider;
import io.replica.testkit.memory.InMemoryVirtualDisk;
import io.replica.testkit.time.ManualClock;
import io.replica.testkit.time.ManualScheduler;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * 4 KiB random writes through the tracked disk against the same writes to the bare in-memory disk,
 * in one run: the cost of change tracking on the guest's write path. Report the ratio of the two
 * throughputs (tracked / bare); the goal is at least 0.95.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 2, jvmArgsAppend = "-Xmx2g")
public class TrackedWriteBenchmark {
  private static final long DISK_BYTES = 256L << 20;
  private static final int WRITE_BYTES = 4096;

  private ManualScheduler scheduler;
  private ReplicationManager primary;
  private ReplicationManager replica;
  private InMemoryVirtualDisk bare;
  private VirtualDisk tracked;
  private final ByteBuffer data = ByteBuffer.allocate(WRITE_BYTES);
  private final SplittableRandom random = new SplittableRandom(42);

  @Setup(Level.Trial)
  public void setUp() throws Exception {
    ManualClock clock = new ManualClock(Instant.parse("2026-01-01T00:00:00Z"));
    scheduler = new ManualScheduler(clock);
    InMemoryNetwork network = new InMemoryNetwork(scheduler);
    bare = InMemoryVirtualDisk.create(DiskSpec.dynamic(DISK_BYTES));
    InMemoryVirtualDisk trackedBase = InMemoryVirtualDisk.create(DiskSpec.dynamic(DISK_BYTES));
    fill(bare);
    fill(trackedBase);
    replica = ReplicaEngine.builder().hostName("replica").clock(clock).scheduler(scheduler)
        .transport(network.transport("replica")).storage(new InMemoryStorageProvider()).build();
    replica.setReplicaServerSettings(ReplicaServerSettings.builder()
        .allowedAuthenticationTypes(Set.of(AuthenticationType.KERBEROS)).allowAnyAuthenticatedServer("r").build());
    primary = ReplicaEngine.builder().hostName("primary").clock(clock).scheduler(scheduler)
        .transport(network.transport("primary")).build();
    DiskId disk = DiskId.of(new UUID(1, 1));
    VirtualMachine vm = new VirtualMachine(VmId.of(new UUID(2, 2)), "bench",
        List.of(new VmDisk(disk, trackedBase, true)));
    var enabled = primary.enableReplication(vm, ReplicationSettings.builder("replica").build());
    scheduler.runUntilIdle();
    enabled.join();
    tracked = primary.changeTracker(vm.id()).trackedDisk(disk);
    random.nextBytes(data.array());
  }

  /** Every block written once, so both disks measure overwrites, not first allocations. */
  private static void fill(VirtualDisk disk) throws IOException {
    ByteBuffer block = ByteBuffer.allocate(1 << 20);
    for (long off = 0; off < DISK_BYTES; off += block.capacity()) {
      block.clear();
      block.put(0, (byte) 1);
      disk.write(off, block);
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    primary.close();
    replica.close();
    scheduler.runUntilIdle();
  }

  private long nextOffset() {
    return random.nextLong(DISK_BYTES / WRITE_BYTES) * WRITE_BYTES;
  }

  @Benchmark
  public void bareDisk() throws IOException {
    bare.write(nextOffset(), data.clear());
  }

  @Benchmark
  public void trackedDisk() throws IOException {
    tracked.write(nextOffset(), data.clear());
  }
}
