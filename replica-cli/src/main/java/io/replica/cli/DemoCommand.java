package io.replica.cli;

import io.replica.api.AuthenticationType;
import io.replica.api.DiskId;
import io.replica.api.RecoveryPoint;
import io.replica.api.RecoveryPointView;
import io.replica.api.ReplicaServerSettings;
import io.replica.api.ReplicationManager;
import io.replica.api.ReplicationMode;
import io.replica.api.ReplicationSettings;
import io.replica.api.ReplicationStatistics;
import io.replica.api.VirtualMachine;
import io.replica.api.VmDisk;
import io.replica.api.VmId;
import io.replica.api.event.ReplicationEvent;
import io.replica.core.ReplicaEngine;
import io.replica.spi.storage.DiskSpec;
import io.replica.spi.storage.VirtualDisk;
import io.replica.spi.host.PowerState;
import io.replica.spi.host.VirtualMachineHost;
import io.replica.spi.time.Clock;
import io.replica.spi.transport.Transport;
import io.replica.transport.netty.Certificates;
import io.replica.transport.netty.NettyTransport;
import io.replica.transport.netty.TlsCredentials;
import io.replica.transport.netty.TlsSettings;
import io.replica.spi.storage.StorageProvider;
import io.replica.storage.vhdx.DirectoryStorageProvider;
import io.replica.storage.vhdx.VhdxDisk;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.net.ServerSocket;
import io.replica.spi.time.Scheduler;
import io.replica.testkit.memory.InMemoryNetwork;
import io.replica.testkit.memory.InMemoryStorageProvider;
import io.replica.testkit.memory.InMemoryVirtualDisk;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * A primary and a replica host in one process: a two-disk machine takes random writes while it
 * replicates; at the end the replica is compared with the primary byte for byte.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = "Replicate a two-disk virtual machine under a random workload and verify the replica.")
final class DemoCommand implements Callable<Integer> {
  private static final String PRIMARY = "hv1.contoso.com";
  private static final String REPLICA = "hv2.fabrikam.com";

  @Spec
  CommandSpec spec;

  @Option(names = "--cycles", description = "Cycles to run while writing (default: ${DEFAULT-VALUE}).")
  int cycles = 5;

  @Option(names = "--frequency", description = "Replication frequency, e.g. 1s, 30s, 5m (default: ${DEFAULT-VALUE}).",
      converter = DurationConverter.class)
  Duration frequency = Duration.ofSeconds(1);

  @Option(names = "--disk-size", description = "Size of each disk, e.g. 64M (default: ${DEFAULT-VALUE}).",
      converter = SizeConverter.class)
  long diskSize = 64L << 20;

  @Option(names = "--seed", description = "Seed of the workload (default: ${DEFAULT-VALUE}).")
  long seed = 1;

  @Option(names = "--transport", description = "netty (mutual TLS on loopback) or memory (default: ${DEFAULT-VALUE}).")
  String transport = "netty";

  @Option(names = "--disks", description = "vhdx (files in a temporary folder) or memory (default: ${DEFAULT-VALUE}).")
  String disks = "vhdx";

  @Option(names = "--keep", description = "Keep the temporary folder with the VHDX files for inspection.")
  boolean keep;

  /** The ports the two replica servers listen on (certificate authentication). */
  private int replicaPort;
  private int primaryPort;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    if (cycles < 1 || diskSize < (1 << 20) || diskSize % 4096 != 0) {
      spec.commandLine().getErr().println("demo: --cycles must be at least 1 and --disk-size a multiple"
          + " of 4 KiB of at least 1M");
      return 2;
    }
    if (!transport.equals("netty") && !transport.equals("memory")) {
      spec.commandLine().getErr().println("demo: unknown --transport '" + transport + "'; use netty or memory");
      return 2;
    }
    boolean netty = transport.equals("netty");
    if (!disks.equals("vhdx") && !disks.equals("memory")) {
      spec.commandLine().getErr().println("demo: unknown --disks '" + disks + "'; use vhdx or memory");
      return 2;
    }
    Path folder = disks.equals("vhdx") ? Files.createTempDirectory("replica-demo-") : null;
    replicaPort = netty ? freePort() : 443;
    primaryPort = netty ? freePort() : 443;
    ReplicationSettings settings;
    try {
      settings = ReplicationSettings.builder(REPLICA).authenticationType(AuthenticationType.CERTIFICATE)
          .replicaServerPort(replicaPort).replicationFrequency(frequency).build();
    } catch (IllegalArgumentException e) {
      spec.commandLine().getErr().println("demo: " + e.getMessage());
      return 2;
    }
    ScheduledExecutorService executor = Executors.newScheduledThreadPool(2, r -> {
      Thread t = new Thread(r, "replica-demo");
      t.setDaemon(true);
      return t;
    });
    Scheduler scheduler = Scheduler.of(executor);
    StorageProvider storage = folder != null ? new DirectoryStorageProvider() : new InMemoryStorageProvider();
    String replicaLocation = folder != null ? folder.resolve("hv2-replicas").toString() : "replicas";
    String returnLocation = folder != null ? folder.resolve("hv1-replicas").toString() : "returned";
    Map<VmId, PowerState> power = new ConcurrentHashMap<>();
    Transport primaryTransport;
    Transport replicaTransport;
    if (netty) {
      // A private CA made now issues each host its certificate; both sides check the other's.
      TlsCredentials ca = Certificates.newCa("Replica demo CA", Duration.ofDays(1));
      primaryTransport = nettyTransport(ca, PRIMARY);
      replicaTransport = nettyTransport(ca, REPLICA);
    } else {
      InMemoryNetwork network = new InMemoryNetwork(scheduler);
      primaryTransport = network.transport(PRIMARY);
      replicaTransport = network.transport(REPLICA);
    }
    try (Transport t1 = primaryTransport;
        Transport t2 = replicaTransport;
        ReplicationManager primary = ReplicaEngine.builder().hostName(PRIMARY).listenHost(listen(netty, PRIMARY))
            .clock(Clock.system()).scheduler(scheduler).transport(primaryTransport).storage(storage)
            .virtualMachineHost(new DemoHypervisor(power)).build();
        ReplicationManager replica = ReplicaEngine.builder().hostName(REPLICA).listenHost(listen(netty, REPLICA))
            .clock(Clock.system()).scheduler(scheduler).transport(replicaTransport).storage(storage).build()) {
      replica.setReplicaServerSettings(ReplicaServerSettings.builder()
          .allowedAuthenticationTypes(Set.of(AuthenticationType.CERTIFICATE)).certificatePort(replicaPort)
          .allowAnyAuthenticatedServer(replicaLocation).build());
      VirtualMachine vm = newVm(diskSize, folder);
      out.printf("primary %s, replica %s (%s; %s)%n", PRIMARY, REPLICA,
          netty ? "Netty with mutual TLS on loopback, certificates from a CA made just now" : "in-memory network",
          folder != null ? "VHDX files in " + folder : "in-memory disks");
      out.printf("virtual machine '%s' %s: 2 disks of %d MiB, replication every %s%n", vm.name(), vm.id(),
          diskSize >> 20, human(frequency));

      CountDownLatch waiting = new CountDownLatch(cycles + 1);
      primary.addListener(event -> {
        if (event instanceof ReplicationEvent.CycleCompleted c && c.mode() == ReplicationMode.PRIMARY) {
          out.printf("cycle %3d  %6d blocks  %10d bytes  latency %4d ms%s%n", c.cycle(), c.blocks(),
              c.payloadBytes(), c.latency().toMillis(), c.cycle() == 0 ? "  (initial replication)" : "");
          out.flush();
          waiting.countDown();
        } else if (event instanceof ReplicationEvent.ReplicationFailed f) {
          out.println("failed: " + f.reason());
        }
      });
      prefill(vm);
      primary.enableReplication(vm, settings).get(30, TimeUnit.SECONDS);
      primary.startInitialReplication(vm.id()).get(10, TimeUnit.MINUTES);

      // The guest writes all the while cycles are cut and sent.
      AtomicBoolean stop = new AtomicBoolean();
      AtomicLong writes = new AtomicLong();
      Thread guest = new Thread(() -> guestWrites(primary, vm, stop, writes), "guest");
      guest.start();
      waiting.await();
      stop.set(true);
      guest.join();

      // The guest stopped: any cut taken from now on is the primary as it is now.
      java.time.Instant stoppedAt = java.time.Instant.now();
      List<byte[]> expected = contents(vm);
      long deadline = System.nanoTime() + frequency.multipliedBy(20).plusSeconds(10).toNanos();
      while (!replicaHasCutAfter(replica, vm.id(), stoppedAt) && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      // One online verify pass: the replica's latest point against the primary's disks, by hashes.
      io.replica.api.VerificationResult check = primary.verify(vm.id()).get(5, TimeUnit.MINUTES);
      out.printf(java.util.Locale.ROOT, "verify: %d disks, %.1f MiB compared, %d ranges differ%n", check.disks(),
          check.comparedBytes() / (double) (1 << 20), check.differences().size());
      if (!check.matches()) {
        out.println("FAILED: online verify found ranges of the replica differing from the primary: "
            + check.differences());
        return 1;
      }
      // Hold the replica at that point while it is compared.
      primary.suspendReplication(vm.id()).get(30, TimeUnit.SECONDS);
      out.printf("guest wrote %d times during %d cycles%n", writes.get(), cycles);
      printMeasure(out, primary.statistics(vm.id()));
      if (!testFailover(out, replica, vm, expected)) {
        return 1;
      }
      String verified = verify(out, replica, vm, expected);
      if (verified == null) {
        return 1;
      }
      if (!plannedFailover(out, primary, replica, vm, power, returnLocation)) {
        return 1;
      }
      out.println(verified);
      return 0;
    } finally {
      executor.shutdownNow();
      if (folder != null) {
        if (keep) {
          out.println("the VHDX files stay in " + folder + " (try: replica disk info FILE)");
        } else {
          deleteTree(folder);
        }
      }
    }
  }

  private static void deleteTree(Path folder) throws IOException {
    try (java.util.stream.Stream<Path> paths = Files.walk(folder)) {
      for (Path p : (Iterable<Path>) paths.sorted(java.util.Comparator.reverseOrder())::iterator) {
        Files.deleteIfExists(p);
      }
    }
  }

  private static NettyTransport nettyTransport(TlsCredentials ca, String host) {
    return NettyTransport.builder().hostName(host)
        .tls(TlsSettings.of(Certificates.issue(ca, List.of(host), Duration.ofDays(1)), List.of(ca.certificate())))
        .resolver(name -> InetAddress.getLoopbackAddress()) // both demo hosts live on this machine
        .certificateExpiryWarning(Duration.ZERO, expiry -> { }) // its one-day certificates are meant to expire
        .build();
  }

  /** Over Netty both demo hosts listen on loopback; the in-memory network listens by host name. */
  private static String listen(boolean netty, String host) {
    return netty ? InetAddress.getLoopbackAddress().getHostAddress() : host;
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  private static boolean replicaHasCutAfter(ReplicationManager replica, VmId vm, java.time.Instant instant) {
    List<RecoveryPoint> points = replica.recoveryPoints(vm);
    return !points.isEmpty() && points.get(points.size() - 1).time().isAfter(instant);
  }

  private static VirtualMachine newVm(long size, @org.jspecify.annotations.Nullable Path folder) throws IOException {
    List<VmDisk> disks = new ArrayList<>();
    if (folder != null) {
      Files.createDirectories(folder.resolve("hv1-machines"));
    }
    for (int i = 0; i < 2; i++) {
      VirtualDisk disk = folder != null
          ? VhdxDisk.create(folder.resolve("hv1-machines").resolve("demo-disk-" + i + ".vhdx"), DiskSpec.dynamic(size))
          : InMemoryVirtualDisk.create(DiskSpec.dynamic(size));
      disks.add(new VmDisk(DiskId.of(UUID.nameUUIDFromBytes(("demo-disk-" + i).getBytes())), disk, i == 0));
    }
    return new VirtualMachine(VmId.of(UUID.nameUUIDFromBytes("demo-vm".getBytes())), "demo", disks);
  }

  private void prefill(VirtualMachine vm) throws IOException {
    SplittableRandom r = new SplittableRandom(seed);
    byte[] block = new byte[64 * 1024];
    for (VmDisk d : vm.disks()) {
      // A quarter of each disk holds data before replication starts; the rest stays sparse.
      for (long off = 0; off < d.disk().sizeBytes() / 4; off += block.length) {
        r.nextBytes(block);
        d.disk().write(off, ByteBuffer.wrap(block));
      }
    }
  }

  private void guestWrites(ReplicationManager primary, VirtualMachine vm, AtomicBoolean stop, AtomicLong writes) {
    SplittableRandom r = new SplittableRandom(seed * 31 + 7);
    List<VirtualDisk> disks = new ArrayList<>();
    for (VmDisk d : vm.disks()) {
      disks.add(primary.changeTracker(vm.id()).trackedDisk(d.id()));
    }
    byte[] data = new byte[4096];
    try {
      while (!stop.get()) {
        VirtualDisk d = disks.get(r.nextInt(disks.size()));
        int hot = r.nextInt(10) < 8 ? 16 : 1; // most writes go to a hot sixteenth of the disk
        long blocks = d.sizeBytes() / 4096 / hot;
        r.nextBytes(data);
        d.write(r.nextLong(blocks) * 4096, ByteBuffer.wrap(data));
        if (writes.incrementAndGet() % 4 == 0) {
          Thread.sleep(1);
        }
      }
    } catch (IOException | InterruptedException e) {
      throw new IllegalStateException("guest write failed", e);
    }
  }

  private static List<byte[]> contents(VirtualMachine vm) throws IOException {
    List<byte[]> out = new ArrayList<>();
    for (VmDisk d : vm.disks()) {
      out.add(read(d.disk()));
    }
    return out;
  }

  private static byte[] read(VirtualDisk d) throws IOException {
    byte[] bytes = new byte[Math.toIntExact(d.sizeBytes())];
    d.read(0, ByteBuffer.wrap(bytes));
    return bytes;
  }

  private static void printMeasure(PrintWriter out, ReplicationStatistics s) {
    out.println();
    out.printf("%-28s %s%n", "Measure", "Value");
    out.printf("%-28s %s%n", "-------", "-----");
    out.printf("%-28s %d bytes%n", "InitialReplicationSize", s.initialReplicationSizeBytes());
    out.printf("%-28s %d bytes%n", "AverageReplicationSize", s.averageReplicationSizeBytes());
    out.printf("%-28s %d bytes%n", "MaximumReplicationSize", s.maximumReplicationSizeBytes());
    out.printf("%-28s %d ms%n", "AverageReplicationLatency", s.averageLatency().toMillis());
    out.printf("%-28s %d ms%n", "MaximumReplicationLatency", s.maximumLatency().toMillis());
    out.printf("%-28s %d%n", "SuccessfulReplicationCount", s.successfulReplicationCount());
    out.printf("%-28s %d%n", "MissedReplicationCount", s.missedReplicationCount());
    out.printf("%-28s %d%n", "ReplicationErrors", s.replicationErrors());
    out.printf("%-28s %d bytes%n", "PendingReplicationSize", s.pendingReplicationSizeBytes());
    out.printf("%-28s %s%n", "LastReplicationTime", s.lastReplicationTime());
    out.println();
  }

  /** A test failover from the latest point: its copy must equal the primary, and writes to it stay in it. */
  private static boolean testFailover(PrintWriter out, ReplicationManager replica, VirtualMachine vm,
      List<byte[]> expected) throws Exception {
    List<RecoveryPoint> points = replica.recoveryPoints(vm.id());
    RecoveryPoint latest = points.get(points.size() - 1);
    VirtualMachine test = replica.startTestFailover(vm.id(), latest).get(30, TimeUnit.SECONDS);
    for (int i = 0; i < test.disks().size(); i++) {
      int at = java.util.Arrays.mismatch(expected.get(i), read(test.disks().get(i).disk()));
      if (at >= 0) {
        out.printf("FAILED: test failover '%s' differs from the primary at byte %d of disk %d%n", test.name(), at, i);
        return false;
      }
    }
    test.disks().get(0).disk().write(0, ByteBuffer.wrap(new byte[4096])); // the test machine boots and writes
    replica.stopTestFailover(vm.id()).get(30, TimeUnit.SECONDS);
    out.printf("test failover: '%s' started from cycle %d, matched the primary, took writes, and was removed%n",
        test.name(), latest.cycle());
    return true;
  }

  /**
   * The machine is shut down and fails over to the replica host with nothing lost; the replica host
   * then runs it and replicates its changes back, sending only what changed.
   */
  private boolean plannedFailover(PrintWriter out, ReplicationManager primary, ReplicationManager replica,
      VirtualMachine vm, Map<VmId, PowerState> power, String returnLocation) throws Exception {
    primary.setReplicaServerSettings(ReplicaServerSettings.builder()
        .allowedAuthenticationTypes(Set.of(AuthenticationType.CERTIFICATE)).certificatePort(primaryPort)
        .allowAnyAuthenticatedServer(returnLocation).build());
    primary.resumeReplication(vm.id()).get(30, TimeUnit.SECONDS);
    power.put(vm.id(), PowerState.OFF);
    List<byte[]> atShutdown = contents(vm);
    primary.plannedFailover(vm.id()).get(frequency.multipliedBy(10).plusSeconds(30).toMillis(), TimeUnit.MILLISECONDS);
    List<VirtualDisk> running = new ArrayList<>();
    for (VmDisk d : vm.disks()) {
      running.add(replica.changeTracker(vm.id()).trackedDisk(d.id()));
    }
    for (int i = 0; i < running.size(); i++) {
      if (java.util.Arrays.mismatch(atShutdown.get(i), read(running.get(i))) >= 0) {
        out.printf("FAILED: after the planned failover disk %d on %s differs from the primary at shutdown%n", i, REPLICA);
        return false;
      }
    }
    out.printf("planned failover: %s now runs '%s' with every write of %s; %s is its replica%n", REPLICA,
        vm.name(), PRIMARY, PRIMARY);
    // The machine runs on the new primary and writes a little; only that travels back.
    SplittableRandom r = new SplittableRandom(seed + 99);
    byte[] data = new byte[4096];
    for (int i = 0; i < 16; i++) {
      r.nextBytes(data);
      running.get(i % running.size()).write(r.nextLong(diskSize / 4096) * 4096, ByteBuffer.wrap(data));
    }
    List<byte[]> now = new ArrayList<>();
    for (VirtualDisk d : running) {
      now.add(read(d));
    }
    long deadline = System.nanoTime() + frequency.multipliedBy(20).plusSeconds(10).toNanos();
    java.time.Instant wrote = java.time.Instant.now();
    while (!replicaHasCutAfter(primary, vm.id(), wrote) && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    replica.suspendReplication(vm.id()).get(30, TimeUnit.SECONDS);
    String mismatch = compare(primary, vm, now);
    if (mismatch != null) {
      out.println("FAILED: reverse replication: " + mismatch);
      return false;
    }
    out.printf("reverse replication: %s sent %d bytes back to %s (no initial replication); %s matches%n",
        REPLICA, replica.statistics(vm.id()).maximumReplicationSizeBytes(), PRIMARY, PRIMARY);
    return true;
  }

  private static @org.jspecify.annotations.Nullable String compare(ReplicationManager replica, VirtualMachine vm,
      List<byte[]> expected) throws IOException {
    List<RecoveryPoint> points = replica.recoveryPoints(vm.id());
    if (points.isEmpty()) {
      return "the replica has no recovery point";
    }
    RecoveryPoint latest = points.get(points.size() - 1);
    try (RecoveryPointView view = replica.openRecoveryPoint(latest)) {
      for (int i = 0; i < vm.disks().size(); i++) {
        int at = java.util.Arrays.mismatch(expected.get(i), read(view.disks().get(vm.disks().get(i).id())));
        if (at >= 0) {
          return "disk " + i + " differs at byte " + at + " (cycle " + latest.cycle() + ")";
        }
      }
    }
    return null;
  }

  /** The hypervisor of the demo's primary host: a machine is running until it is turned off. */
  private static final class DemoHypervisor implements VirtualMachineHost {
    private final Map<VmId, PowerState> power;

    DemoHypervisor(Map<VmId, PowerState> power) {
      this.power = power;
    }

    @Override
    public PowerState powerState(VmId vm) {
      return power.getOrDefault(vm, PowerState.RUNNING);
    }

    @Override
    public java.util.concurrent.CompletableFuture<Void> start(VmId vm) {
      power.put(vm, PowerState.RUNNING);
      return java.util.concurrent.CompletableFuture.completedFuture(null);
    }

    @Override
    public java.util.concurrent.CompletableFuture<Void> stop(VmId vm) {
      power.put(vm, PowerState.OFF);
      return java.util.concurrent.CompletableFuture.completedFuture(null);
    }
  }

  /** Compares the replica's latest point with {@code expected}; returns the verified line, or null. */
  private static @org.jspecify.annotations.Nullable String verify(PrintWriter out, ReplicationManager replica,
      VirtualMachine vm, List<byte[]> expected) throws IOException {
    List<RecoveryPoint> points = replica.recoveryPoints(vm.id());
    if (points.isEmpty()) {
      out.println("FAILED: the replica has no recovery point");
      return null;
    }
    RecoveryPoint latest = points.get(points.size() - 1);
    long bytes = 0;
    try (RecoveryPointView view = replica.openRecoveryPoint(latest)) {
      for (int i = 0; i < vm.disks().size(); i++) {
        byte[] actual = read(view.disks().get(vm.disks().get(i).id()));
        int at = java.util.Arrays.mismatch(expected.get(i), actual);
        if (at >= 0) {
          out.printf("FAILED: disk %d differs from the primary at byte %d (cycle %d)%n", i, at, latest.cycle());
          return null;
        }
        bytes += actual.length;
      }
    }
    return String.format("verified: replica equals primary at cycle %d (%d disks, %d bytes compared);"
        + " test failover, planned failover and reverse replication checked", latest.cycle(), vm.disks().size(), bytes);
  }

  static String human(Duration d) {
    return d.toMillis() % 1000 == 0 ? d.getSeconds() + " s" : d.toMillis() + " ms";
  }
}
