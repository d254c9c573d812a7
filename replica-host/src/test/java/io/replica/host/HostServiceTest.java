package io.replica.host;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.replica.api.RecoveryPoint;
import io.replica.api.RecoveryPointView;
import io.replica.api.ReplicationState;
import io.replica.api.VirtualMachine;
import io.replica.host.nbd.Tools;
import io.replica.spi.storage.DiskSpec;
import io.replica.spi.storage.VirtualDisk;
import io.replica.storage.vhdx.VhdxDisk;
import io.replica.transport.netty.Certificates;
import io.replica.transport.netty.TlsCredentials;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Two hosts on loopback: QEMU's qemu-io writes through NBD on one, the other keeps the replica. */
class HostServiceTest {
  private static final long SIZE = 16L << 20;

  @TempDir
  Path dir;

  @Test
  void qemuWritesThroughNbdAreReplicatedAndReplicationResumesAfterARestart() throws Exception {
    assumeTrue(Tools.available("qemu-io"), "qemu-io (Debian package qemu-utils) is needed");
    Path tls = Files.createDirectories(dir.resolve("tls"));
    TlsCredentials ca = Certificates.newCa("Host CA", Duration.ofDays(1));
    TlsCredentials.writeCertificatesPem(tls.resolve("ca.pem"), List.of(ca.certificate()));
    for (String h : List.of("localhost", "primary.test")) {
      Certificates.issue(ca, h, Duration.ofDays(1)).writePem(tls.resolve(h + ".pem"), tls.resolve(h + ".key"));
    }
    int port;
    try (java.net.ServerSocket free = new java.net.ServerSocket(0)) {
      port = free.getLocalPort();
    }
    Files.createDirectories(dir.resolve("vms"));
    VhdxDisk.create(dir.resolve("vms/web01.vhdx"), DiskSpec.dynamic(SIZE)).close();
    Path replicaConfig = write("replica.json", """
        {"hostName": "localhost", "stateFolder": "replica-state",
         "tls": {"certificate": "tls/localhost.pem", "key": "tls/localhost.key", "trust": "tls/ca.pem"},
         "replicaServer": {"listen": "127.0.0.1:%d", "storage": "replicas"},
         "nbd": {"unixSocket": "replica-nbd.sock"},
         "admin": {"unixSocket": "replica-admin.sock", "group": "root"}}
        """.formatted(port));
    Path primaryConfig = write("primary.json", """
        {"hostName": "primary.test", "stateFolder": "primary-state",
         "tls": {"certificate": "tls/primary.test.pem", "key": "tls/primary.test.key", "trust": "tls/ca.pem"},
         "nbd": {"unixSocket": "primary-nbd.sock"},
         "admin": {"unixSocket": "primary-admin.sock", "group": "root"},
         "machines": [{"name": "web01", "disks": [{"path": "vms/web01.vhdx"}]}]}
        """);
    String uri = "nbd+unix:///web01-disk0?socket=" + dir.resolve("primary-nbd.sock");

    try (HostService replica = HostService.start(HostConfig.read(replicaConfig))) {
      VirtualMachine vm;
      try (HostService primary = HostService.start(HostConfig.read(primaryConfig))) {
        vm = primary.machine("web01").orElseThrow();
        Tools.ok("qemu-io", "-f", "raw", uri, "-c", "write -P 0x11 0 64k"); // before replication
        // As `replica vm enable` and `replica vm start-initial` do, through the management API.
        var admin = new io.replica.host.admin.AdminClient(dir.resolve("primary-admin.sock"));
        var enabled = admin.post("/v1/vms/web01/enable", """
            {"replicaServer": "localhost", "port": %d, "authenticationType": "certificate", "frequencySeconds": 1}
            """.formatted(port));
        assertTrue(enabled.ok(), enabled.body().toString());
        var initial = admin.post("/v1/vms/web01/initial-replication", "{}");
        assertTrue(initial.ok(), initial.body().toString());
        await("initial replication", () -> latest(replica, vm).length > 0 && primary.engine().state(vm.id())
            == ReplicationState.REPLICATING);
        Tools.ok("qemu-io", "-f", "raw", uri, "-c", "write -P 0x22 1M 64k", "-c", "flush");
        await("the replica holds the write made through NBD", () -> replicaHas(replica, vm, 1 << 20, 0x22));
        assertTrue(replicaHas(replica, vm, 0, 0x11), "what the disk held before replication was copied");
      }

      // The primary host restarts: it resumes from its state, and writes through NBD are tracked again.
      try (HostService primary = HostService.start(HostConfig.read(primaryConfig))) {
        await("replication resumes", () -> primary.engine().state(vm.id()) == ReplicationState.REPLICATING);
        Tools.ok("qemu-io", "-f", "raw", uri, "-c", "write -P 0x33 2M 64k", "-c", "flush");
        await("the write after the restart is replicated", () -> replicaHas(replica, vm, 2 << 20, 0x33));
        byte[] primaryBytes = content(primary.machine("web01").orElseThrow().disks().get(0).disk());
        await("the replica equals the primary", () -> java.util.Arrays.equals(primaryBytes, latest(replica, vm)));

        // A test failover on the replica host: its test machine's disk is read through NBD there.
        var replicaAdmin = new io.replica.host.admin.AdminClient(dir.resolve("replica-admin.sock"));
        var test = replicaAdmin.post("/v1/vms/" + vm.id() + "/test-failover", "{}");
        assertTrue(test.ok(), test.body().toString());
        String testUri = "nbd+unix:///web01%20-%20Test-disk0?socket=" + dir.resolve("replica-nbd.sock");
        Tools.ok("qemu-io", "-f", "raw", testUri, "-r", "-c", "read -P 0x11 0 64k", "-c", "read -P 0x22 1M 64k",
            "-c", "read -P 0x33 2M 64k");
        Path copy = dir.resolve("test-copy.raw");
        Tools.ok("qemu-img", "convert", "-f", "raw", "-O", "raw", testUri, copy.toString());
        assertTrue(java.util.Arrays.equals(primaryBytes, Files.readAllBytes(copy)), "the test machine's disk is the primary's");
        assertTrue(replicaAdmin.post("/v1/vms/" + vm.id() + "/test-failover/stop", "{}").ok());
        assertTrue(Tools.run("qemu-io", "-f", "raw", testUri, "-r", "-c", "read 0 4k").exit() != 0,
            "the test machine's export is gone with it");
      }
    }
  }

  private Path write(String name, String text) throws java.io.IOException {
    return Files.writeString(dir.resolve(name), text);
  }

  private static boolean replicaHas(HostService replica, VirtualMachine vm, long offset, int fill) {
    byte[] all = latest(replica, vm);
    if (all.length == 0) {
      return false;
    }
    for (int i = 0; i < 64 * 1024; i++) {
      if (all[(int) offset + i] != (byte) fill) {
        return false;
      }
    }
    return true;
  }

  /** The replica's latest recovery point, or nothing while it has none. */
  private static byte[] latest(HostService replica, VirtualMachine vm) {
    try {
      List<RecoveryPoint> points = replica.engine().recoveryPoints(vm.id());
      if (points.isEmpty()) {
        return new byte[0];
      }
      RecoveryPointView view = replica.engine().openRecoveryPoint(points.get(points.size() - 1));
      try {
        return content(view.disks().get(vm.disks().get(0).id()));
      } finally {
        view.close();
      }
    } catch (RuntimeException | java.io.IOException e) {
      return new byte[0]; // not there yet, or a cycle applying: look again
    }
  }

  private static byte[] content(VirtualDisk d) throws java.io.IOException {
    byte[] b = new byte[(int) d.sizeBytes()];
    d.read(0, ByteBuffer.wrap(b));
    return b;
  }

  private static void await(String what, BooleanSupplier condition) throws InterruptedException {
    for (int i = 0; i < 1200; i++) {
      if (condition.getAsBoolean()) {
        return;
      }
      Thread.sleep(100);
    }
    throw new AssertionError(what + " did not happen within 120 s");
  }
}
