package io.replica.core.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replica.api.ReplicationState;
import io.replica.api.VirtualMachine;
import io.replica.spi.storage.StorageLocation;
import io.replica.spi.storage.VirtualDisk;
import io.replica.testkit.memory.InMemoryStorageLocation;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** Initial replication by export to media: nothing but deltas crosses the network. */
class ExportImportTest {
  private static final long DISK = 4L << 20;
  private static final Duration CYCLE = Duration.ofSeconds(30);

  @Test
  void exportedDisksImportOnTheReplicaAndTheChangesSinceFollowOverTheNetwork() throws Exception {
    try (TwoHosts hosts = new TwoHosts()) {
      VirtualMachine vm = hosts.newVm("seeded", DISK, DISK);
      Random r = new Random(4);
      byte[] big = new byte[1 << 20];
      for (int i = 0; i < 4; i++) {
        r.nextBytes(big);
        vm.disks().get(i % 2).disk().write((long) (i / 2) << 20, ByteBuffer.wrap(big));
      }
      hosts.await(hosts.primary.enableReplication(vm, TwoHosts.settings().initialReplicationByExport("usb").build()));
      CompletableFuture<Void> initial = hosts.primary.startInitialReplication(vm.id());
      hosts.scheduler.runUntilIdle();
      assertEquals(0, hosts.payloadBytesSent(), "the first copy goes to the media, not the network");
      assertEquals(ReplicationState.WAITING_FOR_INITIAL_REPLICATION, hosts.primary.state(vm.id()));

      // The guest keeps writing while the media travels; these changes are tracked.
      for (int i = 0; i < 5; i++) {
        hosts.write(vm, 0, (long) (100 + i) * 4096, new byte[4096]);
      }
      hosts.scheduler.advance(CYCLE);
      carry(hosts.primaryStorage.open("usb"), hosts.replicaStorage.open("usb"), vm);
      hosts.await(hosts.replica.importInitialReplication(vm.id(), "usb"));
      hosts.scheduler.advance(CYCLE);
      assertTrue(initial.isDone() && !initial.isCompletedExceptionally(), "initial replication completes at the import");
      hosts.scheduler.advance(CYCLE);
      assertEquals(ReplicationState.REPLICATING, hosts.primary.state(vm.id()));
      hosts.assertReplicaEquals(hosts.primaryContent(vm), vm, "after the import and the deltas");
      assertTrue(hosts.payloadBytesSent() <= 5 * 4096, "only the changes crossed the network, not "
          + hosts.payloadBytesSent() + " bytes");
    }
  }

  @Test
  void aLargeExportGoesInSlicesAndWritesMeanwhileKeepTheCut() throws Exception {
    long size = 48L << 20; // two disks: more than one slice of the export
    try (TwoHosts hosts = new TwoHosts()) {
      VirtualMachine vm = hosts.newVm("sliced", size, size);
      Random r = new Random(6);
      byte[] mib = new byte[1 << 20];
      for (int d = 0; d < 2; d++) {
        for (long off = 0; off < size; off += mib.length) {
          r.nextBytes(mib);
          vm.disks().get(d).disk().write(off, ByteBuffer.wrap(mib));
        }
      }
      hosts.await(hosts.primary.enableReplication(vm, TwoHosts.settings().initialReplicationByExport("usb").build()));
      List<byte[]> atCut = hosts.primaryContent(vm);
      hosts.primary.startInitialReplication(vm.id());
      InMemoryStorageLocation media = hosts.primaryStorage.open("usb");
      String first = vm.id() + "/disks/" + vm.disks().get(0).id();
      while (!media.disks().exists(first) && hosts.scheduler.runNext()) {
        // until the export's first slice ran
      }
      assertTrue(media.disks().exists(first), "the export started");
      assertTrue(media.state().read(vm.id() + "/export.properties").isEmpty(), "the export did not run in one go");

      // Between slices the guest writes to the disk not exported yet: the export keeps the cut.
      byte[] late = new byte[4096];
      r.nextBytes(late);
      hosts.write(vm, 1, 40L << 20, late);
      hosts.scheduler.runUntilIdle();
      assertTrue(media.state().read(vm.id() + "/export.properties").isPresent(), "the export finished");
      byte[] exported = new byte[4096];
      try (VirtualDisk d = media.disks().open(vm.id() + "/disks/" + vm.disks().get(1).id(), true)) {
        d.read(40L << 20, ByteBuffer.wrap(exported));
      }
      assertEquals(ByteBuffer.wrap(atCut.get(1), 40 << 20, 4096), ByteBuffer.wrap(exported),
          "the export holds the disk as it was at the cut");

      hosts.scheduler.advance(CYCLE);
      carry(media, hosts.replicaStorage.open("usb"), vm);
      hosts.await(hosts.replica.importInitialReplication(vm.id(), "usb"));
      hosts.scheduler.advance(CYCLE);
      hosts.scheduler.advance(CYCLE);
      assertEquals(ReplicationState.REPLICATING, hosts.primary.state(vm.id()));
      hosts.assertReplicaEquals(hosts.primaryContent(vm), vm, "after the import and the write made during the export");
    }
  }

  /** Copies the machine's export from one host's media to the other's, as a courier would. */
  private static void carry(InMemoryStorageLocation from, StorageLocation to, VirtualMachine vm)
      throws Exception {
    for (String name : from.disks().list()) {
      try (VirtualDisk in = from.disks().open(name, true);
          VirtualDisk out = to.disks().create(name, io.replica.spi.storage.DiskSpec.dynamic(in.sizeBytes()))) {
        byte[] all = new byte[(int) in.sizeBytes()];
        in.read(0, ByteBuffer.wrap(all));
        out.write(0, ByteBuffer.wrap(all));
        out.flush();
      }
    }
    for (String doc : from.state().list(vm.id().toString())) {
      to.state().write(doc, from.state().read(doc).orElseThrow());
    }
  }
}
