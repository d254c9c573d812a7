package io.replica.transport.netty;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
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
import io.replica.core.ReplicaEngine;
import io.replica.spi.storage.DiskSpec;
import io.replica.spi.storage.VirtualDisk;
import io.replica.spi.time.Scheduler;
import io.replica.testkit.memory.InMemoryStorageProvider;
import io.replica.testkit.memory.InMemoryVirtualDisk;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.ByteBuffer;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Two engines replicate over NettyTransport with mutual TLS on loopback, through a relay that
 * cuts the connection in the middle of the initial replication and again in the middle of a
 * delta cycle; the engine reconnects, resumes, and the replica ends byte-equal to the primary.
 */
class NettyEngineEndToEndTest {
  static final String PRIMARY = "primary.e2e.test";
  static final String REPLICA = "replica.e2e.test";
  static final long DISK_BYTES = 8L << 20;

  private static NettyTransport transport(String host) {
    return NettyTransport.builder().hostName(host).workerThreads(2)
        .inFlightBytesMax(1L << 20)
        .tls(TlsSettings.of(Certificates.issue(NettyTransportTest.CA, List.of(host, "localhost"),
            Duration.ofDays(1)), List.of(NettyTransportTest.CA.certificate())))
        .build();
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /** Disk-image-like content: runs of zeros, text-like runs, random runs. */
  static void fill(VirtualDisk disk, SplittableRandom r, int writes, int size) throws IOException {
    for (int i = 0; i < writes; i++) {
      byte[] data = new byte[size];
      int kind = r.nextInt(3);
      if (kind == 1) {
        r.nextBytes(data);
      } else if (kind == 2) {
        for (int k = 0; k < data.length; k++) {
          data[k] = (byte) ('a' + (k * 31 + i) % 26);
        }
      }
      long offset = (long) r.nextInt((int) (disk.sizeBytes() / size)) * size;
      disk.write(offset, ByteBuffer.wrap(data));
    }
  }

  static byte[] content(VirtualDisk disk) throws IOException {
    byte[] bytes = new byte[Math.toIntExact(disk.sizeBytes())];
    disk.read(0, ByteBuffer.wrap(bytes));
    return bytes;
  }

  private static boolean replicaEquals(ReplicationManager replica, VirtualMachine vm) {
    try {
      List<RecoveryPoint> points = replica.recoveryPoints(vm.id());
      if (points.isEmpty()) {
        return false;
      }
      try (RecoveryPointView view = replica.openRecoveryPoint(points.get(points.size() - 1))) {
        for (VmDisk d : vm.disks()) {
          if (!java.util.Arrays.equals(content(d.disk()), content(view.disks().get(d.id())))) {
            return false;
          }
        }
        return true;
      }
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  @Test
  void primaryNotInTheAuthorizationListIsRefusedAndNothingIsWritten() throws Exception {
    ScheduledExecutorService executor = Executors.newScheduledThreadPool(2);
    Scheduler scheduler = Scheduler.of(executor);
    int port = freePort();
    NettyTransport replicaTransport = transport(REPLICA);
    NettyTransport primaryTransport = transport(PRIMARY);
    InMemoryStorageProvider storage = new InMemoryStorageProvider();
    ReplicationManager replica = ReplicaEngine.builder().hostName(REPLICA).listenHost("127.0.0.1")
        .clock(io.replica.spi.time.Clock.system()).scheduler(scheduler)
        .transport(replicaTransport).storage(storage).build();
    ReplicationManager primary = ReplicaEngine.builder().hostName(PRIMARY)
        .clock(io.replica.spi.time.Clock.system()).scheduler(scheduler)
        .transport(primaryTransport).build();
    try {
      replica.setReplicaServerSettings(ReplicaServerSettings.builder()
          .allowedAuthenticationTypes(Set.of(AuthenticationType.CERTIFICATE))
          .certificatePort(port)
          .addAuthorizationEntry(new io.replica.api.AuthorizationEntry("*.elsewhere.test",
              "replicas", "gold"))
          .build());
      InMemoryVirtualDisk d = InMemoryVirtualDisk.create(DiskSpec.dynamic(1 << 20));
      VirtualMachine vm = new VirtualMachine(VmId.of(new UUID(8, 8)), "refused",
          List.of(new VmDisk(DiskId.of(new UUID(8, 9)), d, true)));
      java.util.concurrent.ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(
          java.util.concurrent.ExecutionException.class,
          () -> primary.enableReplication(vm, ReplicationSettings.builder("localhost")
              .replicaServerPort(port).authenticationType(AuthenticationType.CERTIFICATE)
              .build()).get(60, TimeUnit.SECONDS));
      assertTrue(e.getCause() instanceof io.replica.api.NotAuthorizedException, e.toString());
      assertTrue(e.getCause().getMessage().contains("not in the authorization list"),
          e.getCause().getMessage());
      for (String name : storage.locationNames()) {
        var location = storage.location(name);
        assertTrue(location.disks().list().isEmpty() && location.state().list("").isEmpty(),
            "nothing was written on the replica in " + name + ": " + location.disks().list()
                + " " + location.state().list(""));
      }
    } finally {
      primary.close();
      replica.close();
      primaryTransport.close();
      replicaTransport.close();
      executor.shutdownNow();
    }
  }

  @Test
  void connectionCutMidCycleResumesAndTheReplicaEndsByteEqual() throws Exception {
    ScheduledExecutorService executor = Executors.newScheduledThreadPool(2);
    Scheduler scheduler = Scheduler.of(executor);
    int port = freePort();
    NettyTransport replicaTransport = transport(REPLICA);
    NettyTransport primaryTransport = transport(PRIMARY);
    ReplicationManager replica = ReplicaEngine.builder().hostName(REPLICA).listenHost("127.0.0.1")
        .clock(io.replica.spi.time.Clock.system()).scheduler(scheduler).transport(replicaTransport)
        .storage(new InMemoryStorageProvider()).build();
    ReplicationManager primary = ReplicaEngine.builder().hostName(PRIMARY)
        .clock(io.replica.spi.time.Clock.system()).scheduler(scheduler).transport(primaryTransport).build();
    // Every engine event rechecks what the test waits for.
    Await progress = new Await();
    primary.addListener(e -> progress.signal());
    replica.addListener(e -> progress.signal());
    try (CuttingProxy proxy = new CuttingProxy(port)) {
      replica.setReplicaServerSettings(ReplicaServerSettings.builder()
          .allowedAuthenticationTypes(Set.of(AuthenticationType.CERTIFICATE))
          .certificatePort(port)
          .allowAnyAuthenticatedServer("replicas").build());
      SplittableRandom r = new SplittableRandom(2026);
      List<VmDisk> disks = new ArrayList<>();
      for (int i = 0; i < 2; i++) {
        InMemoryVirtualDisk d = InMemoryVirtualDisk.create(DiskSpec.dynamic(DISK_BYTES));
        fill(d, r, 96, 64 * 1024);
        disks.add(new VmDisk(DiskId.of(new UUID(9, i)), d, i == 0));
      }
      VirtualMachine vm = new VirtualMachine(VmId.of(new UUID(9, 9)), "e2e", disks);
      proxy.cutAfter(1L << 20); // inside the initial replication (several MiB of random data)
      primary.enableReplication(vm, ReplicationSettings.builder("localhost")
          .replicaServerPort(proxy.port())
          .authenticationType(AuthenticationType.CERTIFICATE)
          .compressionEnabled(true)
          .replicationFrequency(Duration.ofSeconds(1))
          .build()).get(60, TimeUnit.SECONDS);
      primary.startInitialReplication(vm.id()).get(60, TimeUnit.SECONDS);
      java.util.function.Supplier<String> state = () -> "primary " + primary.state(vm.id())
          + ", " + primary.health(vm.id()) + ", " + primary.statistics(vm.id()) + "; proxy cuts "
          + proxy.cuts.get() + ", connections " + proxy.accepted.get() + ", bytes "
          + proxy.forwarded.get();
      progress.until("initial replication", Duration.ofSeconds(120),
          () -> primary.statistics(vm.id()).lastAppliedCycle() >= 0, state);
      assertEquals(1, proxy.cuts.get(), "the connection was cut during initial replication");
      assertTrue(proxy.accepted.get() >= 2, "the primary reconnected after the cut");

      // A delta cycle, cut in its middle too. No writes after this, so the replica must
      // converge to the primary's disks as they are now.
      long before = primary.statistics(vm.id()).lastAppliedCycle();
      for (VmDisk d : vm.disks()) {
        byte[] noise = new byte[1 << 20];
        r.nextBytes(noise);
        primary.changeTracker(vm.id()).trackedDisk(d.id()).write(2L << 20, ByteBuffer.wrap(noise));
      }
      proxy.cutAfter(256 * 1024);
      progress.until("a delta cycle", Duration.ofSeconds(120),
          () -> primary.statistics(vm.id()).lastAppliedCycle() > before
              && replicaEquals(replica, vm), state);
      assertEquals(2, proxy.cuts.get(), "the connection was cut during the delta cycle");
      for (VmDisk d : vm.disks()) {
        try (RecoveryPointView view = replica.openRecoveryPoint(
            replica.recoveryPoints(vm.id()).get(replica.recoveryPoints(vm.id()).size() - 1))) {
          assertArrayEquals(content(d.disk()), content(view.disks().get(d.id())),
              "disk " + d.id() + " differs on the replica");
        }
      }
    } finally {
      primary.close();
      replica.close();
      primaryTransport.close();
      replicaTransport.close();
      executor.shutdownNow();
    }
  }
}
