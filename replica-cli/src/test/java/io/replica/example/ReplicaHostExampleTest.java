package io.replica.example;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replica.api.DiskId;
import io.replica.api.RecoveryPoint;
import io.replica.api.RecoveryPointView;
import io.replica.api.ReplicationState;
import io.replica.api.VirtualMachine;
import io.replica.api.VmDisk;
import io.replica.api.VmId;
import io.replica.spi.storage.DiskSpec;
import io.replica.spi.storage.VirtualDisk;
import io.replica.storage.vhdx.VhdxDiskStore;
import io.replica.transport.netty.Certificates;
import io.replica.transport.netty.TlsCredentials;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The README's production wiring, run as written on loopback; the README must hold exactly this code. */
class ReplicaHostExampleTest {
  private static final UUID WEB01 = UUID.fromString("5f0c3f4e-8d0b-4c55-9d6a-0a4f2c1e7b01");
  private static final UUID WEB01_DISK0 = UUID.fromString("5f0c3f4e-8d0b-4c55-9d6a-0a4f2c1e7b02");

  @TempDir
  Path dir;

  @Test
  void twoHostsReplicateAVhdxDiskOverMutualTls() throws Exception {
    // What `replica cert new-ca` and `replica cert issue` make for both hosts.
    String replicaName = "localhost";
    String primaryName = "primary.test";
    Path tls = Files.createDirectories(dir.resolve("tls"));
    TlsCredentials ca = Certificates.newCa("Example CA", Duration.ofDays(365));
    ca.writePem(tls.resolve("ca.pem"), tls.resolve("ca.key"));
    for (String host : List.of(replicaName, primaryName)) {
      Certificates.issue(ca, host, Duration.ofDays(365)).writePem(tls.resolve(host + ".pem"), tls.resolve(host + ".key"));
    }
    Path state = dir.resolve("state");
    Path replicas = dir.resolve("replicas");
    Path vmFolder = dir.resolve("vms");
    int port;
    try (java.net.ServerSocket free = new java.net.ServerSocket(0)) {
      port = free.getLocalPort();
    }
    byte[] sector = "written by the guest".getBytes(StandardCharsets.UTF_8);
    sector = java.util.Arrays.copyOf(sector, 512);

    // README-BEGIN
    ReplicaHost replica = new ReplicaHost(replicaName, tls, state.resolve("replica"));
    replica.acceptReplicas(port, replicas);

    ReplicaHost primary = new ReplicaHost(primaryName, tls, state.resolve("primary"));
    VhdxDiskStore vms = new VhdxDiskStore(vmFolder);
    VirtualDisk disk = vms.exists("web01") ? vms.open("web01", false) : vms.create("web01", DiskSpec.dynamic(64L << 20));
    disk.write(4096, ByteBuffer.wrap(sector)); // what the machine held before replication
    VirtualMachine vm = new VirtualMachine(VmId.of(WEB01), "web01",
        List.of(new VmDisk(DiskId.of(WEB01_DISK0), disk, true)));
    VirtualDisk guestDisk = primary.replicate(vm, replicaName, port);
    guestDisk.write(0, ByteBuffer.wrap(sector)); // the guest's I/O from now on
    // README-END

    try (replica; primary; vms) {
      assertEquals(ReplicationState.REPLICATING, primary.engine().state(vm.id()));
      List<RecoveryPoint> points = replica.engine().recoveryPoints(vm.id());
      assertEquals(1, points.size(), "initial replication made the first recovery point");
      assertTrue(Files.exists(replicas.resolve(WEB01.toString())), "the replica's files live under the storage location");
      RecoveryPointView view = replica.engine().openRecoveryPoint(points.get(0));
      try {
        byte[] got = new byte[512];
        view.disks().get(DiskId.of(WEB01_DISK0)).read(4096, ByteBuffer.wrap(got));
        assertArrayEquals(sector, got, "the replica holds what the VHDX held");
      } finally {
        view.close();
      }
    }
  }

  @Test
  void theReadmeHoldsTheSameCode() throws Exception {
    Path root = Path.of("").toAbsolutePath();
    while (!Files.exists(root.resolve("README.md")) || !Files.isDirectory(root.resolve("replica-cli"))) {
      root = root.getParent();
    }
    String readme = Files.readString(root.resolve("README.md"), StandardCharsets.UTF_8);
    Path here = root.resolve("replica-cli/src/test/java/io/replica/example");
    String host = Files.readString(here.resolve("ReplicaHost.java"), StandardCharsets.UTF_8);
    assertTrue(readme.contains(host.substring(host.indexOf("import ")).stripTrailing()),
        "README.md must contain ReplicaHost.java from its imports on, exactly");
    String source = Files.readString(here.resolve("ReplicaHostExampleTest.java"), StandardCharsets.UTF_8);
    String code = source.substring(source.indexOf("// README-BEGIN\n") + 16, source.indexOf("    // README-END"));
    StringBuilder unindented = new StringBuilder();
    for (String line : code.split("\n", -1)) {
      unindented.append(line.length() >= 4 ? line.substring(4) : line.strip()).append('\n');
    }
    String expected = unindented.toString().stripTrailing();
    assertTrue(readme.contains(expected), "README.md must contain the usage exactly as in this test:\n" + expected);
  }
}
