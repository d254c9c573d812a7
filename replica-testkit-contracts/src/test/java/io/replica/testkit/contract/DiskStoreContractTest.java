package io.replica.testkit.contract;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replica.spi.storage.DiskSpec;
import io.replica.spi.storage.DiskStore;
import io.replica.spi.storage.StorageNames;
import io.replica.spi.storage.VirtualDisk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Checks {@link DiskStoreContract} itself: a correct store passes every rule, and each
 * deliberately broken store fails the rule it breaks and no other. All stores here are wrong on
 * purpose except {@link Reference}.
 */
class DiskStoreContractTest {

  @Test
  void correctStorePassesEveryRule() {
    KitRun.of(Reference.class).assertFailedOnly(Set.of(), Set.of());
  }

  @Test
  void cleaningUpInvalidNamesFailsD2_3() {
    KitRun.of(SanitizesInvalidNames.class).assertFailedOnly(Set.of("D2.3"), Set.of());
  }

  @Test
  void handingOutANewDiskForAnExistingNameFailsD2_2() {
    KitRun.of(CreateOfExistingNameGivesNewDisk.class)
        .assertFailedOnly(Set.of("D2.2"), Set.of());
  }

  @Test
  void creatingMissingDisksOnOpenFailsD2_4() {
    KitRun.of(OpenCreatesMissingDisks.class).assertFailedOnly(Set.of("D2.4"), Set.of());
  }

  @Test
  void losingTheSectorSizeOnReopenFailsD2_5() {
    KitRun.of(ReopenLoses4kSectors.class).assertFailedOnly(Set.of("D2.5"), Set.of());
  }

  @Test
  void writableReadOnlyOpenFailsD2_6() {
    KitRun.of(ReadOnlyOpenIsWritable.class).assertFailedOnly(Set.of("D2.6"), Set.of());
  }

  @Test
  void snapshotHandlesFailD2_7() {
    KitRun.of(OpenTakesASnapshot.class).assertFailedOnly(Set.of("D2.7"), Set.of());
  }

  @Test
  void reviveDeletedContentFailsD2_8() {
    KitRun.of(DeleteKeepsContentForTheName.class)
        .assertFailedOnly(Set.of("D2.8"), Set.of());
  }

  @Test
  void ignoringDeleteOfAnOpenDiskFailsD2_9() {
    KitRun.of(DeleteOfOpenDiskDoesNothing.class)
        .assertFailedOnly(Set.of("D2.9"), Set.of());
  }

  @Test
  void withoutCrashHookD2_19IsSkippedWithItsReason() {
    KitRun run = KitRun.of(WithoutCrashHook.class).assertFailedOnly(Set.of(), Set.of("D2.19"));
    assertTrue(run.skipped.get("D2.19").contains("override crash(store)"), run.skipped::toString);
  }

  /** Forgetting allocation on reopen also shows after the restart that follows a crash. */
  @Test
  void allocationForgottenOnReopenFailsD2_18AndD2_19() {
    KitRun.of(ReopenForgetsAllocation.class)
        .assertFailedOnly(Set.of("D2.18", "D2.19"), Set.of());
  }

  @Test
  void allocationLostByACleanCloseFailsD2_18() {
    KitRun.of(CloseWritesAnEmptyAllocation.class)
        .assertFailedOnly(Set.of("D2.18"), Set.of());
  }

  @Test
  void allocationMadeDurableOnlyAtCloseFailsD2_19() {
    KitRun.of(AllocationDurableOnlyAtClose.class)
        .assertFailedOnly(Set.of("D2.19"), Set.of());
  }

  @Test
  void handlesThatOutliveTheirStoreFailD2_21() {
    KitRun.of(CloseLeavesHandlesWorking.class).assertFailedOnly(Set.of("D2.21"), Set.of());
  }

  /** The bug a VHDX store had: unallocated blocks read as zeros without touching the file. */
  @Test
  void closedHandlesThatReadZerosFailD2_21() {
    KitRun.of(ClosedHandlesReadUnwrittenRangesAsZeros.class)
        .assertFailedOnly(Set.of("D2.21"), Set.of());
  }

  @Test
  void closedStoreThatKeepsServingFailsD2_21() {
    KitRun.of(ClosedStoreKeepsServing.class).assertFailedOnly(Set.of("D2.21"), Set.of());
  }

  @Test
  void handleCloseRefusedAfterTheStoreClosedFailsD2_21() {
    KitRun.of(HandleCloseFailsAfterStoreClose.class).assertFailedOnly(Set.of("D2.21"), Set.of());
  }

  /** Runs the kit on a {@link RefDiskStore} seen through {@link #wrap}. */
  @ExtendWith(SelfTestOnly.class)
  abstract static class Kit extends DiskStoreContract<DiskStore> {
    @Override
    protected final DiskStore createStore() {
      return wrap(new RefDiskStore());
    }

    @Override
    protected Optional<DiskStore> crash(DiskStore store) {
      if (store instanceof ForwardingDiskStore forwarding) {
        forwarding.crash();
      } else {
        ((RefDiskStore) store).crash();
      }
      return Optional.of(store);
    }

    DiskStore wrap(RefDiskStore store) {
      return store;
    }
  }

  static final class Reference extends Kit {}

  static final class WithoutCrashHook extends Kit {
    @Override
    protected Optional<DiskStore> crash(DiskStore store) {
      return Optional.empty();
    }
  }

  /**
   * Keeps allocation only in the memory of each handle, so a disk opened again reports nothing
   * allocated and reads its data all the same.
   */
  static final class ReopenForgetsAllocation extends Kit {
    @Override
    DiskStore wrap(RefDiskStore store) {
      return new ForwardingDiskStore(store) {
        @Override
        public VirtualDisk create(String name, DiskSpec spec) throws IOException {
          return ChunkAllocation.reporting(delegate.create(name, spec), new ChunkAllocation());
        }

        @Override
        public VirtualDisk open(String name, boolean readOnly) throws IOException {
          return ChunkAllocation.reporting(delegate.open(name, readOnly), new ChunkAllocation());
        }
      };
    }
  }

  /**
   * Writes its allocation map out on flush, but the clean close of a writable handle writes it
   * again from an empty cache: after a crash the allocation is right, after a normal reopen it is
   * gone.
   */
  static final class CloseWritesAnEmptyAllocation extends Kit {
    @Override
    DiskStore wrap(RefDiskStore store) {
      Map<String, ChunkAllocation> durable = new HashMap<>();
      return new ForwardingDiskStore(store) {
        @Override
        public VirtualDisk create(String name, DiskSpec spec) throws IOException {
          VirtualDisk disk = delegate.create(name, spec);
          durable.put(name, new ChunkAllocation());
          return handle(name, disk);
        }

        @Override
        public VirtualDisk open(String name, boolean readOnly) throws IOException {
          VirtualDisk disk = delegate.open(name, readOnly);
          return durable.containsKey(name) ? handle(name, disk) : disk;
        }

        @Override
        public void delete(String name) throws IOException {
          delegate.delete(name);
          durable.remove(name);
        }

        private VirtualDisk handle(String name, VirtualDisk disk) {
          ChunkAllocation live = durable.get(name).copy();
          return new ForwardingDisk(ChunkAllocation.reporting(disk, live)) {
            @Override
            public void flush() throws IOException {
              super.flush();
              durable.put(name, live.copy());
            }

            @Override
            public void close() throws IOException {
              super.close();
              if (!isReadOnly()) {
                durable.put(name, new ChunkAllocation());
              }
            }
          };
        }
      };
    }
  }

  /**
   * Writes its allocation map out only when a handle closes (a write-back BAT that flush forgets),
   * so a crash takes back the allocation of flushed data.
   */
  static final class AllocationDurableOnlyAtClose extends Kit {
    @Override
    DiskStore wrap(RefDiskStore store) {
      Map<String, ChunkAllocation> live = new HashMap<>();
      Map<String, ChunkAllocation> durable = new HashMap<>();
      return new ForwardingDiskStore(store) {
        @Override
        public VirtualDisk create(String name, DiskSpec spec) throws IOException {
          VirtualDisk disk = delegate.create(name, spec);
          live.put(name, new ChunkAllocation());
          durable.put(name, new ChunkAllocation());
          return handle(name, disk);
        }

        @Override
        public VirtualDisk open(String name, boolean readOnly) throws IOException {
          VirtualDisk disk = delegate.open(name, readOnly);
          return live.containsKey(name) ? handle(name, disk) : disk;
        }

        @Override
        public void delete(String name) throws IOException {
          delegate.delete(name);
          live.remove(name);
          durable.remove(name);
        }

        @Override
        void crash() {
          super.crash();
          durable.forEach((name, allocation) -> live.put(name, allocation.copy()));
        }

        private VirtualDisk handle(String name, VirtualDisk disk) {
          return new ForwardingDisk(ChunkAllocation.reporting(disk, live.get(name))) {
            @Override
            public void close() throws IOException {
              super.close();
              ChunkAllocation current = live.get(name);
              if (current != null) {
                durable.put(name, current.copy());
              }
            }
          };
        }
      };
    }
  }

  /** Closing does nothing: handles keep reading and writing, the store keeps serving. */
  static final class CloseLeavesHandlesWorking extends Kit {
    @Override
    DiskStore wrap(RefDiskStore store) {
      return new ForwardingDiskStore(store) {
        @Override
        public void close() {}
      };
    }
  }

  /**
   * After close, a read that would find only zeros answers without the medium, as a format that
   * knows from memory which blocks were never written might; reads of data fail as they should.
   */
  static final class ClosedHandlesReadUnwrittenRangesAsZeros extends Kit {
    @Override
    DiskStore wrap(RefDiskStore store) {
      boolean[] closed = {false};
      return new ForwardingDiskStore(store) {
        @Override
        public VirtualDisk create(String name, DiskSpec spec) throws IOException {
          return handle(delegate.create(name, spec));
        }

        @Override
        public VirtualDisk open(String name, boolean readOnly) throws IOException {
          return handle(delegate.open(name, readOnly));
        }

        @Override
        public void close() {
          closed[0] = true;
          delegate.close();
        }

        private VirtualDisk handle(VirtualDisk disk) {
          return new ForwardingDisk(disk) {
            @Override
            public void read(long offsetBytes, ByteBuffer dst) throws IOException {
              if (closed[0] && offsetBytes >= 1024 * 1024) {
                dst.put(new byte[dst.remaining()]);
                return;
              }
              super.read(offsetBytes, dst);
            }
          };
        }
      };
    }
  }

  /** Close ends the handles, but the store goes on creating, opening and deleting disks. */
  static final class ClosedStoreKeepsServing extends Kit {
    @Override
    DiskStore wrap(RefDiskStore store) {
      return new ForwardingDiskStore(store) {
        @Override
        public void close() {
          delegate.revokeHandles();
        }
      };
    }
  }

  /** A handle left open when the store closed cannot be closed any more. */
  static final class HandleCloseFailsAfterStoreClose extends Kit {
    @Override
    DiskStore wrap(RefDiskStore store) {
      boolean[] closed = {false};
      return new ForwardingDiskStore(store) {
        @Override
        public VirtualDisk create(String name, DiskSpec spec) throws IOException {
          return handle(delegate.create(name, spec));
        }

        @Override
        public VirtualDisk open(String name, boolean readOnly) throws IOException {
          return handle(delegate.open(name, readOnly));
        }

        @Override
        public void close() {
          closed[0] = true;
          delegate.close();
        }

        private VirtualDisk handle(VirtualDisk disk) {
          return new ForwardingDisk(disk) {
            @Override
            public void close() throws IOException {
              if (closed[0]) {
                throw new ClosedChannelException();
              }
              super.close();
            }
          };
        }
      };
    }
  }

  /** Maps an invalid name onto a valid one instead of refusing it. */
  static final class SanitizesInvalidNames extends Kit {
    @Override
    DiskStore wrap(RefDiskStore store) {
      return new ForwardingDiskStore(store) {
        @Override
        public VirtualDisk create(String name, DiskSpec spec) throws IOException {
          return delegate.create(clean(name), spec);
        }

        @Override
        public VirtualDisk open(String name, boolean readOnly) throws IOException {
          return delegate.open(clean(name), readOnly);
        }

        @Override
        public boolean exists(String name) {
          return delegate.exists(clean(name));
        }

        @Override
        public void delete(String name) throws IOException {
          delegate.delete(clean(name));
        }

      };
    }

    private static String clean(String name) {
      try {
        return StorageNames.check(name);
      } catch (IllegalArgumentException e) {
        String cleaned = "n" + name.replaceAll("[^A-Za-z0-9]", "_");
        return cleaned.substring(0, Math.min(100, cleaned.length()));
      }
    }
  }

  /** Answers create of an existing name with a new disk that the store does not keep. */
  static final class CreateOfExistingNameGivesNewDisk extends Kit {
    @Override
    DiskStore wrap(RefDiskStore store) {
      return new ForwardingDiskStore(store) {
        @Override
        public VirtualDisk create(String name, DiskSpec spec) throws IOException {
          return delegate.exists(name) ? RefDisk.create(spec) : delegate.create(name, spec);
        }
      };
    }
  }

  static final class OpenCreatesMissingDisks extends Kit {
    @Override
    DiskStore wrap(RefDiskStore store) {
      return new ForwardingDiskStore(store) {
        @Override
        public VirtualDisk open(String name, boolean readOnly) throws IOException {
          if (!delegate.exists(name)) {
            delegate.create(name, DiskSpec.dynamic(1024 * 1024)).close();
          }
          return delegate.open(name, readOnly);
        }
      };
    }
  }

  /** Forgets the sector size of a 4096-byte disk when it is opened again (a header bug). */
  static final class ReopenLoses4kSectors extends Kit {
    @Override
    DiskStore wrap(RefDiskStore store) {
      return new ForwardingDiskStore(store) {
        @Override
        public VirtualDisk open(String name, boolean readOnly) throws IOException {
          VirtualDisk disk = delegate.open(name, readOnly);
          if (disk.logicalSectorSizeBytes() != 4096) {
            return disk;
          }
          return new ForwardingDisk(disk) {
            @Override
            public int logicalSectorSizeBytes() {
              return 512;
            }
          };
        }
      };
    }
  }

  static final class ReadOnlyOpenIsWritable extends Kit {
    @Override
    DiskStore wrap(RefDiskStore store) {
      return new ForwardingDiskStore(store) {
        @Override
        public VirtualDisk open(String name, boolean readOnly) throws IOException {
          return delegate.open(name, false);
        }
      };
    }
  }

  /** Each opened handle is a private copy of the disk as it was when opened. */
  static final class OpenTakesASnapshot extends Kit {
    @Override
    DiskStore wrap(RefDiskStore store) {
      List<RefDisk> snapshots = new ArrayList<>();
      return new ForwardingDiskStore(store) {
        @Override
        public VirtualDisk open(String name, boolean readOnly) throws IOException {
          VirtualDisk real = delegate.open(name, readOnly);
          RefDisk.Backing copy =
              new RefDisk.Backing(ContractSupport.readAll(real), real.logicalSectorSizeBytes());
          RefDisk snapshot = new RefDisk(copy, readOnly, () -> {});
          snapshots.add(snapshot);
          return new ForwardingDisk(snapshot) {
            @Override
            public void close() throws IOException {
              super.close();
              real.close();
            }
          };
        }

        @Override
        public void close() {
          snapshots.forEach(RefDisk::revoke);
          delegate.close();
        }
      };
    }
  }

  /** A disk created under a deleted disk's name gets the deleted content back. */
  static final class DeleteKeepsContentForTheName extends Kit {
    @Override
    DiskStore wrap(RefDiskStore store) {
      Map<String, byte[]> deleted = new HashMap<>();
      return new ForwardingDiskStore(store) {
        @Override
        public void delete(String name) throws IOException {
          byte[] content;
          try (VirtualDisk disk = delegate.open(name, true)) {
            content = ContractSupport.readAll(disk);
          }
          delegate.delete(name);
          deleted.put(name, content);
        }

        @Override
        public VirtualDisk create(String name, DiskSpec spec) throws IOException {
          VirtualDisk disk = delegate.create(name, spec);
          byte[] old = deleted.remove(name);
          if (old != null && old.length == disk.sizeBytes()) {
            disk.write(0, ByteBuffer.wrap(old));
          }
          return disk;
        }
      };
    }
  }

  static final class DeleteOfOpenDiskDoesNothing extends Kit {
    @Override
    DiskStore wrap(RefDiskStore store) {
      return new ForwardingDiskStore(store) {
        @Override
        public void delete(String name) throws IOException {
          if (!delegate.isOpen(name)) {
            delegate.delete(name);
          }
        }
      };
    }
  }
}
