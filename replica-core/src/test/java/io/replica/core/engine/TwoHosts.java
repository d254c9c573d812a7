package io.replica.core.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replica.api.AuthenticationType;
import io.replica.api.DiskId;
import io.replica.api.RecoveryPoint;
import io.replica.api.RecoveryPointView;
import io.replica.api.ReplicaServerSettings;
import io.replica.api.ReplicationManager;
import io.replica.api.ReplicationSettings;
import io.replica.api.VirtualMachine;
import io.replica.api.VmDisk;
import io.replica.api.VmId;
import io.replica.api.event.ReplicationEvent;
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
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;

/** A primary and a replica host in one JVM on a manual clock, with an in-memory network and storage. */
final class TwoHosts implements AutoCloseable {
  static final String PRIMARY = "hv1.contoso.com";
  static final String REPLICA = "hv2.fabrikam.com";
  static final String LOCATION = "replicas";

  final ManualClock clock = new ManualClock(Instant.parse("2026-01-01T00:00:00Z"));
  final ManualScheduler scheduler = new ManualScheduler(clock);
  final InMemoryNetwork network;
  final InMemoryStorageProvider replicaStorage = new InMemoryStorageProvider();
  final InMemoryStorageProvider primaryStorage = new InMemoryStorageProvider();
  /** The primary host's hypervisor: machines are running unless a test turns them off. */
  final java.util.Map<io.replica.api.VmId, io.replica.spi.host.PowerState> power = new java.util.concurrent.ConcurrentHashMap<>();
  ReplicationManager primary;
  ReplicationManager replica;
  final List<ReplicationEvent> primaryEvents = new CopyOnWriteArrayList<>();
  final List<ReplicationEvent> replicaEvents = new CopyOnWriteArrayList<>();
  private final List<InMemoryVirtualDisk> primaryDisks = new ArrayList<>();
  /** The machines the primary host's hypervisor has, with their disks. */
  private final java.util.Map<io.replica.api.VmId, VirtualMachine> hypervisorMachines = new java.util.concurrent.ConcurrentHashMap<>();

  TwoHosts() {
    this(InMemoryNetwork.DEFAULT_IN_FLIGHT_BYTES_MAX);
  }

  TwoHosts(long inFlightBytesMax) {
    this(inFlightBytesMax, io.replica.spi.consistency.ConsistencyProvider.crashConsistentOnly());
  }

  TwoHosts(io.replica.spi.consistency.ConsistencyProvider consistency) {
    this(InMemoryNetwork.DEFAULT_IN_FLIGHT_BYTES_MAX, consistency);
  }

  private final io.replica.spi.consistency.ConsistencyProvider consistency;
  /** Whether the primary keeps its state (and activity log) in {@link #primaryStorage}. */
  private boolean persistentPrimary;
  /** The primary's copy-before-write memory; past it old contents spill to its state store. */
  long copyBeforeWriteMemoryBytes = 64L << 20;

  /** Hosts whose primary keeps its state durable, so a restart resumes. */
  static TwoHosts withPersistentPrimary() {
    TwoHosts hosts = new TwoHosts();
    hosts.persistentPrimary = true;
    hosts.primary.close();
    hosts.primary = hosts.startPrimary();
    return hosts;
  }

  TwoHosts(long inFlightBytesMax, io.replica.spi.consistency.ConsistencyProvider consistency) {
    this.consistency = consistency;
    network = new InMemoryNetwork(scheduler, inFlightBytesMax);
    primary = startPrimary();
    replica = startReplica(ReplicaServerSettings.builder()
        .allowedAuthenticationTypes(java.util.Set.of(AuthenticationType.KERBEROS, AuthenticationType.CERTIFICATE))
        .allowAnyAuthenticatedServer(LOCATION).build());
  }

  private ReplicationManager startPrimary() {
    io.replica.spi.host.VirtualMachineHost machines = new io.replica.spi.host.VirtualMachineHost() {
      @Override
      public io.replica.spi.host.PowerState powerState(io.replica.api.VmId vm) {
        return power.getOrDefault(vm, io.replica.spi.host.PowerState.RUNNING);
      }

      @Override
      public java.util.Optional<VirtualMachine> machine(io.replica.api.VmId vm) {
        return java.util.Optional.ofNullable(hypervisorMachines.get(vm));
      }

      @Override
      public java.util.concurrent.CompletableFuture<Void> start(io.replica.api.VmId vm) {
        power.put(vm, io.replica.spi.host.PowerState.RUNNING);
        return java.util.concurrent.CompletableFuture.completedFuture(null);
      }

      @Override
      public java.util.concurrent.CompletableFuture<Void> stop(io.replica.api.VmId vm) {
        power.put(vm, io.replica.spi.host.PowerState.OFF);
        return java.util.concurrent.CompletableFuture.completedFuture(null);
      }
    };
    ReplicaEngine.Builder b = ReplicaEngine.builder().hostName(PRIMARY).clock(clock).scheduler(scheduler)
        .transport(network.transport(PRIMARY)).consistencyProvider(consistency).storage(primaryStorage)
        .virtualMachineHost(machines).copyBeforeWriteMemoryBytes(copyBeforeWriteMemoryBytes);
    if (persistentPrimary) {
      b.primaryState(primaryStorage.location("primary-state").state());
    }
    ReplicationManager m = b.build();
    m.addListener(primaryEvents::add);
    return m;
  }

  /** The primary host restarts and forgets its replication state (it keeps no state of its own yet). */
  void restartPrimary() {
    network.faults().crash(PRIMARY);
    primary.close();
    primaryStorage.simulateCrash();
    scheduler.runUntilIdle();
    primary = startPrimary();
  }

  /** The primary's engine is closed and started again in the same process, on the same stores. */
  void closeAndStartPrimary() {
    primary.close();
    scheduler.runUntilIdle();
    primary = startPrimary();
  }

  /** The primary host loses power: its disks lose what was not flushed, then it restarts. */
  void crashAndRestartPrimary(java.util.Random torn) {
    for (InMemoryVirtualDisk d : primaryDisks) {
      d.simulateCrash(torn);
    }
    restartPrimary();
  }

  ReplicationManager startReplica(ReplicaServerSettings settings) {
    ReplicationManager m = ReplicaEngine.builder().hostName(REPLICA).clock(clock).scheduler(scheduler)
        .transport(network.transport(REPLICA)).storage(replicaStorage).build();
    m.addListener(replicaEvents::add);
    m.setReplicaServerSettings(settings);
    scheduler.runUntilIdle();
    return m;
  }

  /** Simulates a crash of the replica host: unflushed writes are lost, then it starts again. */
  void crashAndRestartReplica() {
    ReplicaServerSettings settings = replica.replicaServerSettings();
    network.faults().crash(REPLICA);
    replica.close();
    replicaStorage.simulateCrash();
    scheduler.runUntilIdle();
    replica = startReplica(settings);
  }

  VirtualMachine newVm(String name, long... diskSizes) {
    List<VmDisk> disks = new ArrayList<>();
    for (int i = 0; i < diskSizes.length; i++) {
      InMemoryVirtualDisk d = InMemoryVirtualDisk.create(DiskSpec.dynamic(diskSizes[i]));
      primaryDisks.add(d);
      disks.add(new VmDisk(DiskId.of(UUID.nameUUIDFromBytes((name + i).getBytes())), d, i == 0));
    }
    VirtualMachine vm = new VirtualMachine(VmId.of(UUID.nameUUIDFromBytes(name.getBytes())), name, disks);
    hypervisorMachines.put(vm.id(), vm);
    return vm;
  }

  /**
   * Lets the primary host take replication back after a failover (into location "returned") and
   * returns those settings, for setting them again after a restart.
   */
  ReplicaServerSettings primaryAcceptsReverse() {
    ReplicaServerSettings returned = ReplicaServerSettings.builder()
        .allowedAuthenticationTypes(java.util.Set.of(AuthenticationType.KERBEROS, AuthenticationType.CERTIFICATE))
        .allowAnyAuthenticatedServer("returned").build();
    primary.setReplicaServerSettings(returned);
    return returned;
  }

  static ReplicationSettings.Builder settings() {
    return ReplicationSettings.builder(REPLICA).replicationFrequency(Duration.ofSeconds(30));
  }

  <T> T await(CompletableFuture<T> future) {
    scheduler.runUntilIdle();
    assertTrue(future.isDone(), "the operation did not complete");
    return future.join();
  }

  /** Enables replication and completes initial replication. */
  void replicate(VirtualMachine vm, ReplicationSettings settings) {
    await(primary.enableReplication(vm, settings));
    await(primary.startInitialReplication(vm.id()));
  }

  /**
   * Runs {@code cycles} cycles of {@code interval} with {@code writesPerCycle} random 4 KiB writes
   * before each, and returns the primary's disks at each cut by cycle number.
   */
  java.util.Map<Long, List<byte[]>> cyclesWithWrites(VirtualMachine vm, int cycles, int writesPerCycle,
      java.util.Random r, Duration interval) throws IOException {
    java.util.Map<Long, List<byte[]>> atCut = new java.util.HashMap<>();
    long blocks = vm.disks().get(0).disk().sizeBytes() / 4096;
    for (int i = 0; i < cycles; i++) {
      for (int w = 0; w < writesPerCycle; w++) {
        byte[] data = new byte[4096];
        r.nextBytes(data);
        write(vm, r.nextInt(vm.disks().size()), (long) r.nextInt((int) blocks) * 4096, data);
      }
      int seen = primaryEvents.size();
      List<byte[]> content = primaryContent(vm);
      scheduler.advance(interval);
      for (ReplicationEvent e : primaryEvents.subList(seen, primaryEvents.size())) {
        if (e instanceof ReplicationEvent.CycleStarted) {
          // No write happened between taking the content and the cut.
          atCut.put(((ReplicationEvent.CycleStarted) e).cycle(), content);
        }
      }
    }
    return atCut;
  }

  /** Starts a planned failover and lets the scheduler run until it completes. */
  CompletableFuture<Void> plannedFailoverDone(VirtualMachine vm) {
    CompletableFuture<Void> f = primary.plannedFailover(vm.id());
    for (int i = 0; i < 100 && !f.isDone(); i++) {
      scheduler.advance(java.time.Duration.ofSeconds(1));
    }
    return f;
  }

  /** Applies a write through the machine's tracked disk. */
  void write(VirtualMachine vm, int disk, long offset, byte[] data) throws IOException {
    primary.changeTracker(vm.id()).trackedDisk(vm.disks().get(disk).id()).write(offset, ByteBuffer.wrap(data));
  }

  static byte[] content(VirtualDisk disk) throws IOException {
    byte[] bytes = new byte[Math.toIntExact(disk.sizeBytes())];
    disk.read(0, ByteBuffer.wrap(bytes));
    return bytes;
  }

  /** The primary's disks now. */
  List<byte[]> primaryContent(VirtualMachine vm) throws IOException {
    List<byte[]> out = new ArrayList<>();
    for (VmDisk d : vm.disks()) {
      out.add(content(d.disk()));
    }
    return out;
  }

  /** The replica's disks at its latest recovery point, in the machine's disk order. */
  List<byte[]> replicaContent(VirtualMachine vm) throws IOException {
    List<RecoveryPoint> points = replica.recoveryPoints(vm.id());
    assertTrue(!points.isEmpty(), "replica of " + vm.name() + " has no recovery point");
    try (RecoveryPointView view = replica.openRecoveryPoint(points.get(points.size() - 1))) {
      List<byte[]> out = new ArrayList<>();
      for (VmDisk d : vm.disks()) {
        out.add(content(view.disks().get(d.id())));
      }
      return out;
    }
  }

  void assertReplicaEquals(List<byte[]> expected, VirtualMachine vm, String context) throws IOException {
    List<byte[]> actual = replicaContent(vm);
    for (int i = 0; i < expected.size(); i++) {
      assertArrayEquals(expected.get(i), actual.get(i), context + ": disk " + i + " of " + vm.name());
    }
  }

  long payloadBytesSent() {
    return network.payloadBytesSent(PRIMARY, REPLICA);
  }

  @Override
  public void close() {
    primary.close();
    replica.close();
    scheduler.runUntilIdle();
  }
}
