package io.replica.testkit.contract;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replica.spi.storage.ByteRange;
import io.replica.spi.storage.DiskSpec;
import io.replica.spi.storage.VirtualDisk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Checks {@link VirtualDiskContract} itself: a correct disk passes every rule, and each
 * deliberately broken disk fails the rule it breaks and, where the bug allows, no other. All disks
 * here are wrong on purpose except {@link Reference}.
 */
class VirtualDiskContractTest {

  private static final int MIB = 1024 * 1024;

  @Test
  void correctDiskPassesEveryRule() {
    KitRun.of(Reference.class).assertFailedOnly(Set.of(), Set.of());
  }

  @Test
  void correctDiskWithoutTrimPassesEveryRule() {
    KitRun.of(WithoutTrim.class).assertFailedOnly(Set.of(), Set.of());
  }

  @Test
  void withoutReadOnlyHookD1_5AndD1_13AreSkippedWithTheirReason() {
    KitRun run =
        KitRun.of(WithoutReadOnlyHandles.class)
            .assertFailedOnly(Set.of(), Set.of("D1.5", "D1.13"));
    assertTrue(run.skipped.get("D1.5").contains("override openReadOnly"), run.skipped::toString);
    assertTrue(run.skipped.get("D1.13").contains("override openReadOnly"), run.skipped::toString);
  }

  /** A bug this basic breaks every rule that reads back anywhere but at offset 0. */
  @Test
  void ignoringTheOffsetOnReadFailsD1_1AndEveryRuleThatReadsAwayFromOffsetZero() {
    KitRun.of(IgnoresOffsetOnRead.class)
        .assertFailedOnly(
            Set.of("D1.1", "D1.4", "D1.5", "D1.7", "D1.8", "D1.9", "D1.10", "D1.11"), Set.of());
  }

  @Test
  void writesTornAtOneMibFailD1_1() {
    KitRun.of(TearsWritesAtOneMib.class).assertFailedOnly(Set.of("D1.1"), Set.of());
  }

  @Test
  void unwrittenSectorsThatReadAsGarbageFailD1_2() {
    KitRun.of(UnwrittenSectorsReadAsGarbage.class).assertFailedOnly(Set.of("D1.2"), Set.of());
  }

  @Test
  void acceptingUnalignedWritesFailsD1_3() {
    KitRun.of(AcceptsUnalignedWrites.class).assertFailedOnly(Set.of("D1.3"), Set.of());
  }

  @Test
  void clampingWritesAtTheEndFailsD1_4() {
    KitRun.of(ClampsWritesAtTheEnd.class).assertFailedOnly(Set.of("D1.4"), Set.of());
  }

  @Test
  void readOnlyHandleThatWritesFailsD1_5() {
    KitRun.of(ReadOnlyHandleWrites.class).assertFailedOnly(Set.of("D1.5"), Set.of());
  }

  @Test
  void ignoringCloseFailsD1_6() {
    KitRun.of(IgnoresClose.class).assertFailedOnly(Set.of("D1.6"), Set.of());
  }

  @Test
  void noAllocatedRangesFailsD1_7() {
    KitRun.of(ReportsNoAllocatedRanges.class).assertFailedOnly(Set.of("D1.7"), Set.of());
  }

  @Test
  void descendingAllocatedRangesFailD1_7() {
    KitRun.of(ReportsDescendingRanges.class).assertFailedOnly(Set.of("D1.7"), Set.of());
  }

  @Test
  void writingFromTheBackingArrayFailsD1_8() {
    KitRun.of(WritesFromTheBackingArray.class).assertFailedOnly(Set.of("D1.8"), Set.of());
  }

  @Test
  void leavingTheReadPositionFailsD1_8() {
    KitRun.of(LeavesReadPosition.class).assertFailedOnly(Set.of("D1.8"), Set.of());
  }

  @Test
  void writesVisibleOnlyToTheirThreadFailD1_9() {
    KitRun.of(ThreadConfinedWrites.class).assertFailedOnly(Set.of("D1.9"), Set.of());
  }

  @Test
  void trimThatForgetsToZeroFailsD1_10() {
    KitRun.of(TrimForgetsToZero.class).assertFailedOnly(Set.of("D1.10"), Set.of());
  }

  @Test
  void trimThatZeroesAndThenRefusesFailsD1_10() {
    KitRun.of(TrimZeroesThenRefuses.class).assertFailedOnly(Set.of("D1.10"), Set.of());
  }

  @Test
  void flushThatDropsTheWriteCacheFailsD1_11() {
    KitRun.of(FlushDropsWriteCache.class)
        .assertFailedOnly(Set.of("D1.11"), Set.of("D1.5", "D1.13"));
  }

  @Test
  void allocationKnownOnlyToTheWritingHandleFailsD1_13() {
    KitRun.of(AllocationKnownOnlyToTheWritingHandle.class)
        .assertFailedOnly(Set.of("D1.13"), Set.of());
  }

  @Test
  void wrongSectorSizeFailsD1_12() {
    KitRun.of(ReportsWrongSectorSize.class).assertFailedOnly(Set.of("D1.12"), Set.of());
  }

  /** Runs the kit on {@link RefDisk}s, each seen through {@link #wrap}. */
  @ExtendWith(SelfTestOnly.class)
  abstract static class Kit extends VirtualDiskContract<VirtualDisk> {
    private final Map<VirtualDisk, RefDisk> references = new IdentityHashMap<>();

    @Override
    protected final VirtualDisk createDisk(DiskSpec spec) {
      RefDisk reference = RefDisk.create(spec);
      VirtualDisk disk = wrap(reference);
      references.put(disk, reference);
      return disk;
    }

    VirtualDisk wrap(RefDisk disk) {
      return disk;
    }

    @Override
    protected Optional<VirtualDisk> openReadOnly(VirtualDisk disk) {
      return Optional.of(references.get(disk).readOnlyView());
    }

    RefDisk reference(VirtualDisk disk) {
      return references.get(disk);
    }
  }

  static final class Reference extends Kit {}

  static final class WithoutTrim extends Kit {
    @Override
    VirtualDisk wrap(RefDisk disk) {
      return new ForwardingDisk(disk) {
        @Override
        public void trim(long offsetBytes, long lengthBytes) {
          throw new UnsupportedOperationException("no trim here");
        }
      };
    }
  }

  static final class WithoutReadOnlyHandles extends Kit {
    @Override
    protected Optional<VirtualDisk> openReadOnly(VirtualDisk disk) {
      return Optional.empty();
    }
  }

  /** The example of reactive-streams' TCK: the offset is checked, then forgotten. */
  static final class IgnoresOffsetOnRead extends Kit {
    @Override
    VirtualDisk wrap(RefDisk disk) {
      return new ForwardingDisk(disk) {
        @Override
        public void read(long offsetBytes, ByteBuffer dst) throws IOException {
          delegate.read(offsetBytes, ByteBuffer.allocate(dst.remaining()));
          delegate.read(0, dst);
        }
      };
    }
  }

  /** A block-based format that forgets to continue a write into the next 1 MiB block. */
  static final class TearsWritesAtOneMib extends Kit {
    @Override
    VirtualDisk wrap(RefDisk disk) {
      return new ForwardingDisk(disk) {
        @Override
        public void write(long offsetBytes, ByteBuffer src) throws IOException {
          delegate.read(offsetBytes, ByteBuffer.allocate(src.remaining()));
          long blockEnd = (offsetBytes / MIB + 1) * MIB;
          if (offsetBytes + src.remaining() > blockEnd) {
            ByteBuffer first = src.duplicate();
            first.limit(first.position() + (int) (blockEnd - offsetBytes));
            delegate.write(offsetBytes, first);
            src.position(src.limit());
          } else {
            delegate.write(offsetBytes, src);
          }
        }
      };
    }
  }

  /** Stale data in sectors never written, honestly reported as allocated. */
  static final class UnwrittenSectorsReadAsGarbage extends Kit {
    @Override
    VirtualDisk wrap(RefDisk disk) {
      int sector = disk.logicalSectorSizeBytes();
      BitSet written = new BitSet();
      return new ForwardingDisk(disk) {
        @Override
        public void read(long offsetBytes, ByteBuffer dst) throws IOException {
          int start = dst.position();
          int length = dst.remaining();
          delegate.read(offsetBytes, dst);
          synchronized (written) {
            for (int i = 0; i < length; i++) {
              if (!written.get((int) ((offsetBytes + i) / sector))) {
                dst.put(start + i, (byte) 0xee);
              }
            }
          }
        }

        @Override
        public void write(long offsetBytes, ByteBuffer src) throws IOException {
          int length = src.remaining();
          delegate.write(offsetBytes, src);
          mark(offsetBytes, length);
        }

        @Override
        public void trim(long offsetBytes, long lengthBytes) throws IOException {
          delegate.trim(offsetBytes, lengthBytes);
          mark(offsetBytes, lengthBytes);
        }

        @Override
        public List<ByteRange> allocatedRanges() throws IOException {
          delegate.allocatedRanges();
          return List.of(new ByteRange(0, sizeBytes()));
        }

        private void mark(long offsetBytes, long lengthBytes) {
          synchronized (written) {
            written.set((int) (offsetBytes / sector), (int) ((offsetBytes + lengthBytes) / sector));
          }
        }
      };
    }
  }

  /** Lenient: an unaligned write becomes a read-modify-write of the sectors around it. */
  static final class AcceptsUnalignedWrites extends Kit {
    @Override
    VirtualDisk wrap(RefDisk disk) {
      return new ForwardingDisk(disk) {
        @Override
        public void write(long offsetBytes, ByteBuffer src) throws IOException {
          int s = logicalSectorSizeBytes();
          int length = src.remaining();
          if (offsetBytes % s == 0 && length % s == 0) {
            delegate.write(offsetBytes, src);
            return;
          }
          long start = Math.floorDiv(offsetBytes, s) * s;
          long end = Math.floorDiv(offsetBytes + length + s - 1, s) * s;
          byte[] sectors = new byte[(int) (end - start)];
          delegate.read(start, ByteBuffer.wrap(sectors));
          src.get(sectors, (int) (offsetBytes - start), length);
          delegate.write(start, ByteBuffer.wrap(sectors));
        }
      };
    }
  }

  /** Writes what fits before the end and drops the rest without a word. */
  static final class ClampsWritesAtTheEnd extends Kit {
    @Override
    VirtualDisk wrap(RefDisk disk) {
      return new ForwardingDisk(disk) {
        @Override
        public void write(long offsetBytes, ByteBuffer src) throws IOException {
          long size = sizeBytes();
          if (offsetBytes >= 0 && offsetBytes < size && offsetBytes + src.remaining() > size) {
            ByteBuffer inside = src.duplicate();
            inside.limit(inside.position() + (int) (size - offsetBytes));
            delegate.write(offsetBytes, inside);
            src.position(src.limit());
          } else {
            delegate.write(offsetBytes, src);
          }
        }
      };
    }
  }

  /** Says it is read-only but writes anyway. */
  static final class ReadOnlyHandleWrites extends Kit {
    @Override
    protected Optional<VirtualDisk> openReadOnly(VirtualDisk disk) {
      RefDisk writable = new RefDisk(reference(disk).backing(), false, () -> {});
      return Optional.of(
          new ForwardingDisk(writable) {
            @Override
            public boolean isReadOnly() {
              return true;
            }
          });
    }
  }

  static final class IgnoresClose extends Kit {
    @Override
    VirtualDisk wrap(RefDisk disk) {
      return new ForwardingDisk(disk) {
        @Override
        public void close() {}
      };
    }
  }

  static final class ReportsNoAllocatedRanges extends Kit {
    @Override
    VirtualDisk wrap(RefDisk disk) {
      return new ForwardingDisk(disk) {
        @Override
        public List<ByteRange> allocatedRanges() throws IOException {
          delegate.allocatedRanges();
          return List.of();
        }
      };
    }
  }

  static final class ReportsDescendingRanges extends Kit {
    @Override
    VirtualDisk wrap(RefDisk disk) {
      return new ForwardingDisk(disk) {
        @Override
        public List<ByteRange> allocatedRanges() throws IOException {
          List<ByteRange> ranges = new ArrayList<>(delegate.allocatedRanges());
          Collections.reverse(ranges);
          return ranges;
        }
      };
    }
  }

  /** Writes {@code src.array()} from index 0, whatever the position, offset or kind of buffer. */
  static final class WritesFromTheBackingArray extends Kit {
    @Override
    VirtualDisk wrap(RefDisk disk) {
      return new ForwardingDisk(disk) {
        @Override
        public void write(long offsetBytes, ByteBuffer src) throws IOException {
          delegate.write(offsetBytes, ByteBuffer.wrap(src.array(), 0, src.remaining()));
          src.position(src.limit());
        }
      };
    }
  }

  static final class LeavesReadPosition extends Kit {
    @Override
    VirtualDisk wrap(RefDisk disk) {
      return new ForwardingDisk(disk) {
        @Override
        public void read(long offsetBytes, ByteBuffer dst) throws IOException {
          int position = dst.position();
          delegate.read(offsetBytes, dst);
          dst.position(position);
        }
      };
    }
  }

  /**
   * Keeps the writes of every thread but the disk's creator in a buffer that only that thread
   * sees until it flushes.
   */
  static final class ThreadConfinedWrites extends Kit {
    @Override
    VirtualDisk wrap(RefDisk disk) {
      Thread owner = Thread.currentThread();
      ThreadLocal<List<Map.Entry<Long, byte[]>>> pending = ThreadLocal.withInitial(ArrayList::new);
      return new ForwardingDisk(disk) {
        @Override
        public void write(long offsetBytes, ByteBuffer src) throws IOException {
          if (Thread.currentThread() == owner) {
            delegate.write(offsetBytes, src);
            return;
          }
          delegate.read(offsetBytes, ByteBuffer.allocate(src.remaining()));
          byte[] bytes = new byte[src.remaining()];
          src.get(bytes);
          pending.get().add(Map.entry(offsetBytes, bytes));
        }

        @Override
        public void read(long offsetBytes, ByteBuffer dst) throws IOException {
          int start = dst.position();
          delegate.read(offsetBytes, dst);
          overlay(pending.get(), offsetBytes, dst, start);
        }

        @Override
        public void flush() throws IOException {
          for (Map.Entry<Long, byte[]> write : pending.get()) {
            delegate.write(write.getKey(), ByteBuffer.wrap(write.getValue()));
          }
          pending.get().clear();
          delegate.flush();
        }
      };
    }
  }

  static final class TrimForgetsToZero extends Kit {
    @Override
    VirtualDisk wrap(RefDisk disk) {
      return new ForwardingDisk(disk) {
        @Override
        public void trim(long offsetBytes, long lengthBytes) throws IOException {
          delegate.read(offsetBytes, ByteBuffer.allocate((int) lengthBytes));
        }
      };
    }
  }

  static final class TrimZeroesThenRefuses extends Kit {
    @Override
    VirtualDisk wrap(RefDisk disk) {
      return new ForwardingDisk(disk) {
        @Override
        public void trim(long offsetBytes, long lengthBytes) throws IOException {
          delegate.trim(offsetBytes, logicalSectorSizeBytes());
          throw new UnsupportedOperationException("trim is not supported after all");
        }
      };
    }
  }

  /**
   * A write-back cache whose flush drops the cached writes instead of writing them. Without
   * read-only handles: they would read the medium under the cache, and D1.5 is not the point.
   */
  static final class FlushDropsWriteCache extends Kit {
    @Override
    VirtualDisk wrap(RefDisk disk) {
      List<Map.Entry<Long, byte[]>> cache = new ArrayList<>();
      return new ForwardingDisk(disk) {
        @Override
        public void write(long offsetBytes, ByteBuffer src) throws IOException {
          delegate.read(offsetBytes, ByteBuffer.allocate(src.remaining()));
          byte[] bytes = new byte[src.remaining()];
          src.get(bytes);
          synchronized (cache) {
            cache.add(Map.entry(offsetBytes, bytes));
          }
        }

        @Override
        public void read(long offsetBytes, ByteBuffer dst) throws IOException {
          int start = dst.position();
          delegate.read(offsetBytes, dst);
          synchronized (cache) {
            overlay(cache, offsetBytes, dst, start);
          }
        }

        @Override
        public void flush() throws IOException {
          delegate.flush();
          synchronized (cache) {
            cache.clear();
          }
        }

        @Override
        public List<ByteRange> allocatedRanges() throws IOException {
          delegate.allocatedRanges();
          return List.of(new ByteRange(0, sizeBytes()));
        }

        @Override
        public void trim(long offsetBytes, long lengthBytes) {
          throw new UnsupportedOperationException("no trim here");
        }
      };
    }

    @Override
    protected Optional<VirtualDisk> openReadOnly(VirtualDisk disk) {
      return Optional.empty();
    }
  }

  /**
   * Derives its allocation from what each handle wrote, not from the disk's own metadata: the
   * writing handle is right, a handle opened later reports nothing allocated.
   */
  static final class AllocationKnownOnlyToTheWritingHandle extends Kit {
    @Override
    VirtualDisk wrap(RefDisk disk) {
      return ChunkAllocation.reporting(disk, new ChunkAllocation());
    }

    @Override
    protected Optional<VirtualDisk> openReadOnly(VirtualDisk disk) {
      return Optional.of(
          ChunkAllocation.reporting(reference(disk).readOnlyView(), new ChunkAllocation()));
    }
  }

  static final class ReportsWrongSectorSize extends Kit {
    @Override
    VirtualDisk wrap(RefDisk disk) {
      return new ForwardingDisk(disk) {
        @Override
        public int logicalSectorSizeBytes() {
          return 512;
        }
      };
    }
  }

  /** Lays {@code writes}, oldest first, over the bytes just read into {@code dst} from start. */
  private static void overlay(
      List<Map.Entry<Long, byte[]>> writes, long offsetBytes, ByteBuffer dst, int start) {
    long end = offsetBytes + (dst.position() - start);
    for (Map.Entry<Long, byte[]> write : writes) {
      long from = Math.max(offsetBytes, write.getKey());
      long to = Math.min(end, write.getKey() + write.getValue().length);
      for (long at = from; at < to; at++) {
        dst.put(start + (int) (at - offsetBytes), write.getValue()[(int) (at - write.getKey())]);
      }
    }
  }
}
