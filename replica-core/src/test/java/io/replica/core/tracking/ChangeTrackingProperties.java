package io.replica.core.tracking;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.longs;

import io.replica.api.DiskId;
import io.replica.api.VmId;
import io.replica.spi.storage.VirtualDisk;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * The dirty-set and cut logic against a model: whatever guest writes land while a cycle is read,
 * the cycle holds each disk exactly as it was at the cut, and no write is ever left untracked.
 */
class ChangeTrackingProperties {
  private static final int BLOCK = 4096;
  private static final int SECTOR = 512;

  private static final class Fixture {
    final SplittableRandom random;
    final Map<DiskId, ByteArrayDisk> disks = new LinkedHashMap<>();
    final VmTracker tracker;
    final MemoryStateStore spillStore = new MemoryStateStore();
    /** The replica as the model sees it: each acknowledged cycle applied. */
    final Map<DiskId, byte[]> replica = new LinkedHashMap<>();

    Fixture(long seed) {
      this(seed, 1L << 20);
    }

    Fixture(long seed, long preserveMemoryBytes) {
      this(seed, preserveMemoryBytes, true);
    }

    Fixture(long seed, long preserveMemoryBytes, boolean spill) {
      random = new SplittableRandom(seed);
      Map<DiskId, VirtualDisk> tracked = new LinkedHashMap<>();
      int diskCount = 1 + random.nextInt(3);
      for (int i = 0; i < diskCount; i++) {
        // Sizes that are not a multiple of the block exercise the short last block.
        int size = (8 + random.nextInt(40)) * BLOCK + SECTOR * random.nextInt(8);
        ByteArrayDisk d = new ByteArrayDisk(size, SECTOR);
        DiskId id = DiskId.of(new UUID(i, seed));
        disks.put(id, d);
        tracked.put(id, d);
        replica.put(id, new byte[size]);
      }
      tracker = new VmTracker(VmId.of(new UUID(seed, 1)), BLOCK, tracked, preserveMemoryBytes,
          spill ? spillStore : null, "spill/" + seed);
    }

    void guestWrite() throws Exception {
      DiskId id = pick();
      VirtualDisk disk = tracker.trackedDisk(id);
      int sectors = (int) (disk.sizeBytes() / SECTOR);
      int first = random.nextInt(sectors);
      int count = 1 + random.nextInt(Math.min(24, sectors - first));
      byte[] data = new byte[count * SECTOR];
      if (random.nextInt(5) > 0) {
        random.nextBytes(data);
      }
      disk.write((long) first * SECTOR, ByteBuffer.wrap(data));
    }

    DiskId pick() {
      return disks.keySet().stream().skip(random.nextInt(disks.size())).findFirst().orElseThrow();
    }

    Map<DiskId, byte[]> snapshot() {
      Map<DiskId, byte[]> s = new LinkedHashMap<>();
      disks.forEach((id, d) -> s.put(id, d.snapshot()));
      return s;
    }
  }

  @Test
  void aCycleIsTheDiskAtTheCutWhateverWritesInterleave() {
    checkCycles(1L << 20);
  }

  @Test
  void aCycleIsTheDiskAtTheCutWhenPreservedBlocksSpillToTheSpillStore() {
    checkCycles(3 * BLOCK, true);
  }

  @Test
  void withoutASpillStorePreservedBlocksPastTheBudgetStayInMemory() {
    checkCycles(3 * BLOCK, false);
  }

  private void checkCycles(long preserveMemoryBytes) {
    checkCycles(preserveMemoryBytes, true);
  }

  private void checkCycles(long preserveMemoryBytes, boolean spill) {
    long[] spilled = {0};
    qt().withExamples(200).forAll(longs().all()).checkAssert(seed -> {
      try {
        Fixture f = new Fixture(seed, preserveMemoryBytes, spill);
        for (int round = 0; round < 6; round++) {
          int writes = f.random.nextInt(40);
          for (int i = 0; i < writes; i++) {
            f.guestWrite();
          }
          Map<DiskId, byte[]> atCut = f.snapshot();
          f.tracker.cut(round == 0 ? VmTracker.CutScope.ALLOCATED : VmTracker.CutScope.CHANGES);
          Map<DiskId, byte[]> received = new LinkedHashMap<>();
          f.replica.forEach((id, bytes) -> received.put(id, Arrays.copyOf(bytes, bytes.length)));
          for (DiskTracker d : f.tracker.disks()) {
            DiskTracker.Chunk c;
            while ((c = d.readNext(1 + f.random.nextInt(8))) != null) {
              System.arraycopy(c.data(), 0, received.get(d.id), (int) c.offsetBytes(), c.data().length);
              for (int i = f.random.nextInt(6); i > 0; i--) {
                f.guestWrite();
              }
            }
          }
          spilled[0] += f.tracker.spilledBytes();
          if (f.random.nextInt(4) == 0) {
            f.tracker.cycleFailed();
          } else {
            f.tracker.cycleAcknowledged();
            for (DiskId id : atCut.keySet()) {
              assertArrayEquals(atCut.get(id), received.get(id), "seed " + seed + " round " + round
                  + ": the cycle must be disk " + id + " at the cut");
            }
            f.replica.putAll(received);
          }
          assertTrue(f.spillStore.logNames().isEmpty(), "seed " + seed + " round " + round
              + ": a cycle that ended left its spill logs " + f.spillStore.logNames());
        }
        // Every difference between primary and replica is pending: nothing was lost.
        Map<DiskId, byte[]> now = f.snapshot();
        long pendingBlocks = f.tracker.pendingBytes() / BLOCK;
        long differing = 0;
        for (DiskTracker d : f.tracker.disks()) {
          byte[] a = now.get(d.id);
          byte[] b = f.replica.get(d.id);
          for (long blk = 0; blk < d.blockCount; blk++) {
            int from = (int) (blk * BLOCK);
            int to = Math.min(a.length, from + BLOCK);
            if (!Arrays.equals(a, from, to, b, from, to)) {
              differing++;
            }
          }
        }
        assertTrue(differing <= pendingBlocks, "seed " + seed + ": " + differing
            + " blocks differ from the replica but only " + pendingBlocks + " are pending");
      } catch (Exception e) {
        throw new AssertionError("seed " + seed, e);
      }
    });
    if (preserveMemoryBytes < (1L << 20) && spill) {
      assertTrue(spilled[0] > 0, "the memory budget never ran out: nothing was spilled");
    }
  }

  @Test
  void aFailedCycleReturnsItsBlocksToTheOpenGeneration() throws Exception {
    Fixture f = new Fixture(42);
    f.guestWrite();
    long before = f.tracker.pendingBytes();
    f.tracker.cut(VmTracker.CutScope.CHANGES);
    assertEquals(before, f.tracker.pendingBytes());
    f.tracker.cycleFailed();
    assertEquals(before, f.tracker.pendingBytes());
    f.tracker.cut(VmTracker.CutScope.CHANGES);
    f.tracker.cycleAcknowledged();
    assertEquals(0, f.tracker.pendingBytes());
  }
}
