package io.replica.core.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replica.api.DiskId;
import io.replica.api.ReplicaServerSettings;
import io.replica.api.ReplicationManager;
import io.replica.api.ReplicationSettings;
import io.replica.api.ReplicationState;
import io.replica.api.VirtualMachine;
import io.replica.api.VmDisk;
import io.replica.api.VmId;
import io.replica.core.ReplicaEngine;
import io.replica.spi.storage.DiskSpec;
import io.replica.spi.storage.VirtualDisk;
import io.replica.spi.time.Scheduler;
import io.replica.testkit.memory.InMemoryNetwork;
import io.replica.testkit.memory.InMemoryStorageProvider;
import io.replica.testkit.memory.InMemoryVirtualDisk;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.Test;

/** The README's embedding example, run as written; the README must hold exactly this code. */
class ReadmeExampleTest {

  @Test
  void theReadmeExampleRuns() throws Exception {
    VirtualDisk myDisk = InMemoryVirtualDisk.create(DiskSpec.dynamic(64L << 20));
    byte[] sector = new byte[512];
    ScheduledExecutorService executor = Executors.newScheduledThreadPool(2);
    try {
      // README-BEGIN
      Scheduler scheduler = Scheduler.of(executor);
      InMemoryNetwork network = new InMemoryNetwork(scheduler); // Netty + TLS between real hosts

      ReplicationManager replica = ReplicaEngine.builder()
          .hostName("hv2.fabrikam.com").scheduler(scheduler)
          .transport(network.transport("hv2.fabrikam.com"))
          .storage(new InMemoryStorageProvider()) // your DiskStore per storage location
          .build();
      replica.setReplicaServerSettings(ReplicaServerSettings.builder()
          .allowAnyAuthenticatedServer("/srv/replicas").build());

      ReplicationManager primary = ReplicaEngine.builder()
          .hostName("hv1.contoso.com").scheduler(scheduler)
          .transport(network.transport("hv1.contoso.com")).build();
      VirtualMachine vm = new VirtualMachine(VmId.of(UUID.randomUUID()), "web01",
          List.of(new VmDisk(DiskId.of(UUID.randomUUID()), myDisk, true)));
      primary.enableReplication(vm, ReplicationSettings.builder("hv2.fabrikam.com")
          .replicationFrequency(ReplicationSettings.FREQUENCY_30_SECONDS).build()).join();
      primary.startInitialReplication(vm.id()).join();

      // From now on the guest's writes go through the tracked disk.
      VirtualDisk guestDisk = primary.changeTracker(vm.id()).trackedDisk(vm.disks().get(0).id());
      guestDisk.write(0, ByteBuffer.wrap(sector));
      // README-END
      assertEquals(ReplicationState.REPLICATING, primary.state(vm.id()));
      assertEquals(1, replica.recoveryPoints(vm.id()).size());
      primary.close();
      replica.close();
    } finally {
      executor.shutdownNow();
    }
  }

  @Test
  void theReadmeHoldsTheSameCode() throws Exception {
    Path root = Path.of("").toAbsolutePath();
    while (!Files.exists(root.resolve("README.md")) || !Files.isDirectory(root.resolve("replica-testkit"))) {
      root = root.getParent();
    }
    String readme = Files.readString(root.resolve("README.md"), StandardCharsets.UTF_8);
    String source = Files.readString(root.resolve(
        "replica-core/src/test/java/io/replica/core/engine/ReadmeExampleTest.java"), StandardCharsets.UTF_8);
    String code = source.substring(source.indexOf("// README-BEGIN\n") + 16, source.indexOf("      // README-END"));
    StringBuilder unindented = new StringBuilder();
    for (String line : code.split("\n", -1)) {
      unindented.append(line.length() >= 6 ? line.substring(6) : line.strip()).append('\n');
    }
    String expected = unindented.toString().stripTrailing();
    assertTrue(readme.contains(expected), "README.md must contain the example exactly as in this test:\n" + expected);
  }
}
