package io.replica.core.tracking;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replica.api.DiskId;
import io.replica.api.VmId;
import io.replica.spi.storage.VirtualDisk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** A block copy-before-write cannot preserve fails the cycle, never the guest's write. */
class CopyBeforeWriteFailureTest {

  @Test
  void aFailedPreserveBreaksTheCycleNotTheGuestWrite() throws Exception {
    boolean[] failReads = {false};
    ByteArrayDisk base = new ByteArrayDisk(64 * 1024, 512);
    VirtualDisk failing = new ForwardingReadFailure(base, failReads);
    DiskId id = DiskId.of(new UUID(1, 1));
    VmTracker tracker = new VmTracker(VmId.of(new UUID(2, 2)), 4096, Map.of(id, failing), 1 << 20,
        new MemoryStateStore(), "spill/test");
    VirtualDisk guest = tracker.trackedDisk(id);
    guest.write(0, ByteBuffer.wrap(new byte[4096]));
    tracker.cut(VmTracker.CutScope.CHANGES);
    failReads[0] = true;
    byte[] data = new byte[4096];
    data[0] = 9;
    guest.write(0, ByteBuffer.wrap(data)); // must not fail
    failReads[0] = false;
    assertEquals(9, base.bytes[0]);
    DiskTracker d = tracker.disks().get(0);
    IOException e = assertThrows(IOException.class, () -> d.readNext(8));
    assertTrue(e.getMessage().contains("copy-before-write could not preserve block 0"), e.getMessage());
    tracker.cycleFailed();
    assertEquals(4096, tracker.pendingBytes(), "the block is sent again from a later cut");
    tracker.cut(VmTracker.CutScope.CHANGES);
    DiskTracker.Chunk c = d.readNext(8);
    assertEquals(9, c.data()[0]);
  }

  /** Turns the test disk's unchecked failure into the IOException a real disk would throw. */
  private static final class ForwardingReadFailure implements VirtualDisk {
    private final ByteArrayDisk disk;
    private final boolean[] fail;

    ForwardingReadFailure(ByteArrayDisk disk, boolean[] fail) {
      this.disk = disk;
      this.fail = fail;
    }

    @Override public long sizeBytes() { return disk.sizeBytes(); }
    @Override public int logicalSectorSizeBytes() { return disk.logicalSectorSizeBytes(); }
    @Override public boolean isReadOnly() { return false; }

    @Override
    public void read(long offsetBytes, ByteBuffer dst) throws IOException {
      if (fail[0]) {
        throw new IOException("injected read failure");
      }
      disk.read(offsetBytes, dst);
    }

    @Override public void write(long offsetBytes, ByteBuffer src) { disk.write(offsetBytes, src); }
    @Override public void flush() {}
    @Override public java.util.List<io.replica.spi.storage.ByteRange> allocatedRanges() { return disk.allocatedRanges(); }
    @Override public void close() {}
  }
}
