package io.replica.testkit.contract;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replica.spi.storage.DiskSpec;
import io.replica.spi.storage.DiskStore;
import io.replica.spi.storage.StorageNames;
import io.replica.spi.storage.VirtualDisk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.FileSystemException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Checks {@link DiskStoreContract} itself: a correct store passes every rule, a store without
 * differencing disks passes with those rules skipped, and each deliberately broken store fails the
 * rule it breaks and no other. All stores here are wrong on purpose except {@link Reference} and
 * {@link WithoutDifferencing}.
 */
class DiskStoreContractTest {

  private static final Set<String> CHILD_RULES =
      Set.of("D2.12", "D2.13", "D2.14", "D2.15", "D2.16", "D2.17", "D2.20");

  @Test
  void correctStorePassesEveryRule() {
    KitRun.of(Reference.class).assertFailedOnly(Set.of(), Set.of("D2.11"));
  }

  @Test
  void correctStoreWithoutDifferencingPassesWithChildRulesSkipped() {
    KitRun run = KitRun.of(WithoutDifferencing.class).assertFailedOnly(Set.of(), CHILD_RULES);
    for (String rule : CHILD_RULES) {
      assertTrue(
          run.skipped.get(rule).contains("supportsDifferencingDisks() == false"),
          run.skipped::toString);
    }
  }

  @Test
  void claimingDifferencingWithoutItFailsD2_3AndEveryChildRule() {
    Set<String> failed = new HashSet<>(CHILD_RULES);
    failed.add("D2.3");
    KitRun.of(ClaimsDifferencingWithoutIt.class).assertFailedOnly(failed, Set.of("D2.11"));
  }

  @Test
  void denyingDifferencingButMakingChildrenFailsD2_11() {
    KitRun.of(DeniesDifferencingButMakesChildren.class)
        .assertFailedOnly(Set.of("D2.11"), CHILD_RULES);
  }

  @Test
  void cleaningUpInvalidNamesFailsD2_3() {
    KitRun.of(SanitizesInvalidNames.class).assertFailedOnly(Set.of("D2.3"), Set.of("D2.11"));
  }

  @Test
  void handingOutANewDiskForAnExistingNameFailsD2_2() {
    KitRun.of(CreateOfExistingNameGivesNewDisk.class)
        .assertFailedOnly(Set.of("D2.2"), Set.of("D2.11"));
  }

  @Test
  void creatingMissingDisksOnOpenFailsD2_4() {
    KitRun.of(OpenCreatesMissingDisks.class).assertFailedOnly(Set.of("D2.4"), Set.of("D2.11"));
  }

  @Test
  void losingTheSectorSizeOnReopenFailsD2_5() {
    KitRun.of(ReopenLoses4kSectors.class).assertFailedOnly(Set.of("D2.5"), Set.of("D2.11"));
  }

  @Test
  void writableReadOnlyOpenFailsD2_6() {
    KitRun.of(ReadOnlyOpenIsWritable.class).assertFailedOnly(Set.of("D2.6"), Set.of("D2.11"));
  }

  @Test
  void snapshotHandlesFailD2_7() {
    KitRun.of(OpenTakesASnapshot.class).assertFailedOnly(Set.of("D2.7"), Set.of("D2.11"));
  }

  @Test
  void reviveDeletedContentFailsD2_8() {
    KitRun.of(DeleteKeepsContentForTheName.class)
        .assertFailedOnly(Set.of("D2.8"), Set.of("D2.11"));
  }

  @Test
  void ignoringDeleteOfAnOpenDiskFailsD2_9() {
    KitRun.of(DeleteOfOpenDiskDoesNothing.class)
        .assertFailedOnly(Set.of("D2.9"), Set.of("D2.11"));
  }

  @Test
  void listingInDirectoryOrderFailsD2_10() {
    KitRun.of(ListsInDirectoryOrder.class).assertFailedOnly(Set.of("D2.10"), Set.of("D2.11"));
  }

  @Test
  void childThatStartsEmptyFailsD2_12() {
    KitRun.of(ChildStartsEmpty.class).assertFailedOnly(Set.of("D2.12"), Set.of("D2.11"));
  }

  @Test
  void childWritesThatReachTheParentFailD2_13() {
    KitRun.of(ChildWritesReachParent.class).assertFailedOnly(Set.of("D2.13"), Set.of("D2.11"));
  }

  @Test
  void childThatForgetsItsWritesOnReopenFailsD2_14() {
    KitRun.of(ReopenedChildReadsAsParent.class)
        .assertFailedOnly(Set.of("D2.14"), Set.of("D2.11"));
  }

  @Test
  void deletingAParentWithItsChildrenFailsD2_15() {
    KitRun.of(DeleteOfParentTakesChildren.class)
        .assertFailedOnly(Set.of("D2.15"), Set.of("D2.11"));
  }

  @Test
  void mergeThatKeepsTheChildFailsD2_16() {
    KitRun.of(MergeKeepsChild.class).assertFailedOnly(Set.of("D2.16"), Set.of("D2.11"));
  }

  @Test
  void parentLockedByADeletedChildFailsD2_17() {
    KitRun.of(DeletedChildLocksParent.class).assertFailedOnly(Set.of("D2.17"), Set.of("D2.11"));
  }

  @Test
  void withoutCrashHookD2_19IsSkippedWithItsReason() {
    KitRun run = KitRun.of(WithoutCrashHook.class).assertFailedOnly(Set.of(), Set.of("D2.11", "D2.19"));
    assertTrue(run.skipped.get("D2.19").contains("override crash(store)"), run.skipped::toString);
  }

  /** Forgetting allocation on reopen also shows after the restart that follows a crash. */
  @Test
  void allocationForgottenOnReopenFailsD2_18AndD2_19() {
    KitRun.of(ReopenForgetsAllocation.class)
        .assertFailedOnly(Set.of("D2.18", "D2.19"), Set.of("D2.11"));
  }

  @Test
  void allocationLostByACleanCloseFailsD2_18() {
    KitRun.of(CloseWritesAnEmptyAllocation.class)
        .assertFailedOnly(Set.of("D2.18"), Set.of("D2.11"));
  }

  @Test
  void allocationMadeDurableOnlyAtCloseFailsD2_19() {
    KitRun.of(AllocationDurableOnlyAtClose.class)
        .assertFailedOnly(Set.of("D2.19"), Set.of("D2.11"));
  }

  @Test
  void childAllocationThatIgnoresTheParentFailsD2_20() {
    KitRun.of(ChildAllocationIgnoresParent.class)
        .assertFailedOnly(Set.of("D2.20"), Set.of("D2.11"));
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
   * allocated and reads its data all the same. Children are left alone (D2.20 is another test).
   */
  static final class ReopenForgetsAllocation extends Kit {
    @Override
    DiskStore wrap(RefDiskStore store) {
      Set<String> children = new HashSet<>();
      return new ForwardingDiskStore(store) {
        @Override
        public VirtualDisk create(String name, DiskSpec spec) throws IOException {
          return ChunkAllocation.reporting(delegate.create(name, spec), new ChunkAllocation());
        }

        @Override
        public VirtualDisk open(String name, boolean readOnly) throws IOException {
          VirtualDisk disk = delegate.open(name, readOnly);
          return children.contains(name)
              ? disk
              : ChunkAllocation.reporting(disk, new ChunkAllocation());
        }

        @Override
        public VirtualDisk createChild(String childName, String parentName) throws IOException {
          children.add(childName);
          return delegate.createChild(childName, parentName);
        }
      };
    }
  }

  /**
   * Writes its allocation map out on flush, but the clean close of a writable handle writes it
   * again from an empty cache: after a crash the allocation is right, after a normal reopen it is
   * gone. Children are left alone.
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
   * so a crash takes back the allocation of flushed data. Children are left alone.
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

  /** A child reports only the blocks it holds itself, as if its parent were empty. */
  static final class ChildAllocationIgnoresParent extends Kit {
    @Override
    DiskStore wrap(RefDiskStore store) {
      Map<String, ChunkAllocation> own = new HashMap<>();
      return new ForwardingDiskStore(store) {
        @Override
        public VirtualDisk createChild(String childName, String parentName) throws IOException {
          VirtualDisk child = delegate.createChild(childName, parentName);
          ChunkAllocation allocation = new ChunkAllocation();
          own.put(childName, allocation);
          return ChunkAllocation.reporting(child, allocation);
        }

        @Override
        public VirtualDisk open(String name, boolean readOnly) throws IOException {
          VirtualDisk disk = delegate.open(name, readOnly);
          ChunkAllocation allocation = own.get(name);
          return allocation == null ? disk : ChunkAllocation.reporting(disk, allocation);
        }

        @Override
        public void delete(String name) throws IOException {
          delegate.delete(name);
          own.remove(name);
        }

        @Override
        public void mergeIntoParent(String childName) throws IOException {
          delegate.mergeIntoParent(childName);
          own.remove(childName);
        }
      };
    }
  }

  /** Correct: it has no differencing disks and says so. */
  static final class WithoutDifferencing extends Kit {
    @Override
    protected boolean supportsDifferencingDisks() {
      return false;
    }

    @Override
    DiskStore wrap(RefDiskStore store) {
      return new NoChildren(store);
    }
  }

  static final class ClaimsDifferencingWithoutIt extends Kit {
    @Override
    DiskStore wrap(RefDiskStore store) {
      return new NoChildren(store);
    }
  }

  static final class DeniesDifferencingButMakesChildren extends Kit {
    @Override
    protected boolean supportsDifferencingDisks() {
      return false;
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

        @Override
        public VirtualDisk createChild(String childName, String parentName) throws IOException {
          return delegate.createChild(clean(childName), clean(parentName));
        }

        @Override
        public void mergeIntoParent(String childName) throws IOException {
          delegate.mergeIntoParent(clean(childName));
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
      return new ForwardingDiskStore(store) {
        @Override
        public VirtualDisk open(String name, boolean readOnly) throws IOException {
          VirtualDisk real = delegate.open(name, readOnly);
          RefDisk.Backing copy =
              new RefDisk.Backing(ContractSupport.readAll(real), real.logicalSectorSizeBytes());
          return new ForwardingDisk(new RefDisk(copy, readOnly, () -> {})) {
            @Override
            public void close() throws IOException {
              super.close();
              real.close();
            }
          };
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

  /** Lists like a walk of the directory tree: each folder's entries in order, then deeper. */
  static final class ListsInDirectoryOrder extends Kit {
    @Override
    DiskStore wrap(RefDiskStore store) {
      return new ForwardingDiskStore(store) {
        @Override
        public List<String> list() {
          List<String> names = new ArrayList<>(delegate.list());
          names.sort(
              (a, b) -> {
                String[] x = a.split("/");
                String[] y = b.split("/");
                for (int i = 0; i < Math.min(x.length, y.length); i++) {
                  int c = x[i].compareTo(y[i]);
                  if (c != 0) {
                    return c;
                  }
                }
                return x.length - y.length;
              });
          return names;
        }
      };
    }
  }

  static final class ChildStartsEmpty extends Kit {
    @Override
    DiskStore wrap(RefDiskStore store) {
      return new ForwardingDiskStore(store) {
        @Override
        public VirtualDisk createChild(String childName, String parentName) throws IOException {
          VirtualDisk child = delegate.createChild(childName, parentName);
          child.trim(0, child.sizeBytes());
          return child;
        }
      };
    }
  }

  static final class ChildWritesReachParent extends Kit {
    @Override
    DiskStore wrap(RefDiskStore store) {
      return new ForwardingDiskStore(store) {
        @Override
        public VirtualDisk createChild(String childName, String parentName) throws IOException {
          VirtualDisk child = delegate.createChild(childName, parentName);
          VirtualDisk parent = delegate.open(parentName, false);
          return new ForwardingDisk(child) {
            @Override
            public void write(long offsetBytes, ByteBuffer src) throws IOException {
              ByteBuffer copy = src.duplicate();
              delegate.write(offsetBytes, src);
              parent.write(offsetBytes, copy);
            }

            @Override
            public void close() throws IOException {
              super.close();
              parent.close();
            }
          };
        }
      };
    }
  }

  /** A reopened child has lost its own blocks and reads as its parent. */
  static final class ReopenedChildReadsAsParent extends Kit {
    @Override
    DiskStore wrap(RefDiskStore store) {
      Map<String, String> parents = new HashMap<>();
      return new ForwardingDiskStore(store) {
        @Override
        public VirtualDisk createChild(String childName, String parentName) throws IOException {
          VirtualDisk child = delegate.createChild(childName, parentName);
          parents.put(childName, parentName);
          return child;
        }

        @Override
        public VirtualDisk open(String name, boolean readOnly) throws IOException {
          VirtualDisk real = delegate.open(name, readOnly);
          String parentName = parents.get(name);
          if (parentName == null) {
            return real;
          }
          byte[] parentBytes;
          try (VirtualDisk parent = delegate.open(parentName, true)) {
            parentBytes = ContractSupport.readAll(parent);
          }
          RefDisk.Backing lost = new RefDisk.Backing(parentBytes, real.logicalSectorSizeBytes());
          return new ForwardingDisk(new RefDisk(lost, readOnly, () -> {})) {
            @Override
            public void close() throws IOException {
              super.close();
              real.close();
            }
          };
        }
      };
    }
  }

  static final class DeleteOfParentTakesChildren extends Kit {
    @Override
    DiskStore wrap(RefDiskStore store) {
      Map<String, String> parents = new HashMap<>();
      return new ForwardingDiskStore(store) {
        @Override
        public VirtualDisk createChild(String childName, String parentName) throws IOException {
          VirtualDisk child = delegate.createChild(childName, parentName);
          parents.put(childName, parentName);
          return child;
        }

        @Override
        public void delete(String name) throws IOException {
          for (Map.Entry<String, String> child : parents.entrySet()) {
            if (child.getValue().equals(name) && delegate.exists(child.getKey())) {
              delegate.delete(child.getKey());
            }
          }
          delegate.delete(name);
        }
      };
    }
  }

  /** Merges, then leaves a fresh child of the same name behind. */
  static final class MergeKeepsChild extends Kit {
    @Override
    DiskStore wrap(RefDiskStore store) {
      Map<String, String> parents = new HashMap<>();
      return new ForwardingDiskStore(store) {
        @Override
        public VirtualDisk createChild(String childName, String parentName) throws IOException {
          VirtualDisk child = delegate.createChild(childName, parentName);
          parents.put(childName, parentName);
          return child;
        }

        @Override
        public void mergeIntoParent(String childName) throws IOException {
          delegate.mergeIntoParent(childName);
          delegate.createChild(childName, parents.get(childName)).close();
        }
      };
    }
  }

  /** Keeps a stale reference to a deleted child, so its parent stays locked. */
  static final class DeletedChildLocksParent extends Kit {
    @Override
    DiskStore wrap(RefDiskStore store) {
      Map<String, String> parents = new HashMap<>();
      Set<String> locked = new HashSet<>();
      return new ForwardingDiskStore(store) {
        @Override
        public VirtualDisk createChild(String childName, String parentName) throws IOException {
          VirtualDisk child = delegate.createChild(childName, parentName);
          parents.put(childName, parentName);
          return child;
        }

        @Override
        public VirtualDisk open(String name, boolean readOnly) throws IOException {
          if (!readOnly && locked.contains(name)) {
            throw new FileSystemException(name, null, "the disk has a child");
          }
          return delegate.open(name, readOnly);
        }

        @Override
        public void delete(String name) throws IOException {
          if (locked.contains(name)) {
            throw new FileSystemException(name, null, "the disk has a child");
          }
          delegate.delete(name);
          if (parents.containsKey(name)) {
            locked.add(parents.get(name));
          }
        }
      };
    }
  }

  /** A store without differencing disks: the SPI's default methods. */
  private static final class NoChildren extends ForwardingDiskStore {
    NoChildren(RefDiskStore delegate) {
      super(delegate);
    }

    @Override
    public VirtualDisk createChild(String childName, String parentName) {
      throw new UnsupportedOperationException("no differencing disks");
    }

    @Override
    public void mergeIntoParent(String childName) {
      throw new UnsupportedOperationException("no differencing disks");
    }
  }
}
