package io.replica.core.tracking;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replica.api.DiskId;
import io.replica.api.VmId;
import io.replica.spi.storage.VirtualDisk;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * What online verify relies on: a block outside the watched set reads as it did when watching
 * began, even while the guest writes other blocks at the same moment.
 */
class VerifyWatchTest {
  private static final int BLOCK = 4096;
  private static final int BLOCKS = 64;

  private static VmTracker tracker(ByteArrayDisk disk) {
    return new VmTracker(VmId.of(new UUID(7, 7)), BLOCK, Map.of(DiskId.of(new UUID(8, 8)), disk), 1 << 20,
        new MemoryStateStore(), "spill/test");
  }

  @Test
  void theWatchedSetHoldsThePendingBlocksAndEveryWriteAfterUntilUnwatched() throws Exception {
    ByteArrayDisk disk = new ByteArrayDisk(BLOCKS * BLOCK, 512);
    VmTracker vm = tracker(disk);
    VirtualDisk guest = vm.trackedDisk(DiskId.of(new UUID(8, 8)));
    DiskTracker d = vm.disks().get(0);
    guest.write(3L * BLOCK, ByteBuffer.wrap(new byte[BLOCK]));
    BlockSet written = d.watchWrites();
    assertTrue(written.contains(3), "a block changed and not acknowledged is watched from the start");
    guest.write(10L * BLOCK, ByteBuffer.wrap(new byte[2 * BLOCK]));
    assertTrue(written.contains(10) && written.contains(11), "a write after the start is watched");
    vm.cut(VmTracker.CutScope.CHANGES);
    vm.cycleAcknowledged();
    assertTrue(written.contains(3), "an acknowledgement does not unwatch what was written");
    d.unwatch(written);
    guest.write(20L * BLOCK, ByteBuffer.wrap(new byte[BLOCK]));
    assertFalse(written.contains(20), "unwatched");
    DiskTracker.Unwritten u = d.readUnwritten(2, 12, d.watchWrites());
    assertFalse(u.written()[0], "block 2 was never written");
    assertArrayEquals(Arrays.copyOfRange(disk.bytes, 2 * BLOCK, 12 * BLOCK), u.data());
  }

  @Test
  void aWriteInProgressIsAlreadyWatchedSoItsBlockIsNeverComparedHalfWritten()
      throws Exception {
    ByteArrayDisk base = new ByteArrayDisk(BLOCKS * BLOCK, 512);
    CountDownLatch writing = new CountDownLatch(1);
    CountDownLatch finish = new CountDownLatch(1);
    // A disk whose write of block 5 stops half-way until the test lets it finish.
    VirtualDisk slow = new ForwardingDisk(base) {
      @Override
      public void write(long offsetBytes, ByteBuffer src) throws java.io.IOException {
        if (offsetBytes != 5L * BLOCK) {
          super.write(offsetBytes, src);
          return;
        }
        base.bytes[(int) offsetBytes] = src.get(src.position());
        writing.countDown();
        try {
          finish.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        super.write(offsetBytes, src);
      }
    };
    VmTracker vm = new VmTracker(VmId.of(new UUID(7, 7)), BLOCK, Map.of(DiskId.of(new UUID(8, 8)), slow), 1 << 20,
        new MemoryStateStore(), "spill/test");
    VirtualDisk guest = vm.trackedDisk(DiskId.of(new UUID(8, 8)));
    DiskTracker d = vm.disks().get(0);
    BlockSet written = d.watchWrites();
    AtomicReference<Throwable> failed = new AtomicReference<>();
    Thread writer = new Thread(() -> {
      try {
        byte[] data = new byte[BLOCK];
        Arrays.fill(data, (byte) 9);
        guest.write(5L * BLOCK, ByteBuffer.wrap(data));
      } catch (Throwable t) {
        failed.set(t);
      }
    }, "guest");
    writer.start();
    writing.await();
    DiskTracker.Unwritten u = d.readUnwritten(0, BLOCKS, written);
    finish.countDown();
    writer.join();
    assertTrue(failed.get() == null, String.valueOf(failed.get()));
    assertTrue(u.written()[5], "the block being written is watched before its bytes change");
    for (int b = 0; b < BLOCKS; b++) {
      if (b != 5) {
        assertFalse(u.written()[b], "block " + b + " was not written");
      }
    }
  }
}
