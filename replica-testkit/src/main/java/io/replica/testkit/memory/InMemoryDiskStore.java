package io.replica.testkit.memory;

import io.replica.spi.storage.DiskSpec;
import io.replica.spi.storage.DiskStore;
import io.replica.spi.storage.StorageNames;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.TreeMap;
import java.util.random.RandomGenerator;
import org.jspecify.annotations.Nullable;

/**
 * A {@link DiskStore} in memory: the replica's disks in tests and simulations, with differencing
 * children, crash simulation, a capacity limit and leak detection.
 *
 * <p>Strict like a file system: names must pass {@link StorageNames#check(String)}; creating an
 * existing disk fails with {@link FileAlreadyExistsException}, opening a missing one with
 * {@link NoSuchFileException}; an open disk, or the parent of a child, cannot be deleted
 * ({@link FileSystemException}). A disk may be opened many times; all handles share its content.
 *
 * <p>{@link #simulateCrash()} is the host losing power: every disk loses its unflushed writes and
 * every open handle becomes unusable, so the code under test has to reopen, as after a restart.
 * {@link #checkNoOpenHandles()} at the end of a test reports every handle that was never closed with
 * the stack that opened it (like okio's {@code FakeFileSystem}).
 *
 * <p>{@link #close()} does not discard anything: the store is a volume that stays mounted, so that an
 * {@link InMemoryStorageProvider} can hand the same store to a restarted engine. Safe for concurrent
 * use.
 */
public final class InMemoryDiskStore implements DiskStore {

  private final String label;
  private final Object lock = new Object();
  private final TreeMap<String, DiskContent> disks = new TreeMap<>(); // guarded by lock
  private final StorageSpace space = new StorageSpace();

  /** An empty store without a capacity limit. */
  public InMemoryDiskStore() {
    this("in-memory disk store");
  }

  InMemoryDiskStore(String label) {
    this.label = label;
  }

  /**
   * {@inheritDoc}
   *
   * <p>The in-memory store is always sparse; {@link DiskSpec#fixed()} is accepted and ignored.
   */
  @Override
  public InMemoryVirtualDisk create(String name, DiskSpec spec) throws IOException {
    StorageNames.check(Objects.requireNonNull(name, "name"));
    Objects.requireNonNull(spec, "spec");
    synchronized (lock) {
      if (disks.containsKey(name)) {
        throw new FileAlreadyExistsException(name, null,
            "a disk of that name already exists in the " + label + "; open it or pick another name");
      }
      DiskContent content = new DiskContent(name, spec, null, space);
      disks.put(name, content);
      return content.openHandle(false);
    }
  }

  @Override
  public InMemoryVirtualDisk open(String name, boolean readOnly) throws IOException {
    synchronized (lock) {
      return existing(name).openHandle(readOnly);
    }
  }

  @Override
  public boolean exists(String name) {
    StorageNames.check(Objects.requireNonNull(name, "name"));
    synchronized (lock) {
      return disks.containsKey(name);
    }
  }

  @Override
  public void delete(String name) throws IOException {
    synchronized (lock) {
      existing(name).delete();
      disks.remove(name);
    }
  }

  @Override
  public List<String> list() {
    synchronized (lock) {
      return List.copyOf(disks.keySet());
    }
  }

  /**
   * {@inheritDoc}
   *
   * <p>The child has the parent's geometry. Reads of ranges the child has not written come from the
   * parent as it is at the time of the read; writes to the parent are refused with a
   * {@link FileSystemException} while the child exists. Creating the child is durable at once.
   *
   * @throws FileAlreadyExistsException if a disk named {@code childName} exists
   * @throws NoSuchFileException if there is no disk named {@code parentName}
   */
  @Override
  public InMemoryVirtualDisk createChild(String childName, String parentName) throws IOException {
    StorageNames.check(Objects.requireNonNull(childName, "childName"));
    synchronized (lock) {
      DiskContent parent = existing(parentName);
      if (disks.containsKey(childName)) {
        throw new FileAlreadyExistsException(childName, null,
            "a disk of that name already exists in the " + label + "; pick another name for the"
                + " differencing child of '" + parentName + "'");
      }
      DiskContent child = new DiskContent(childName, parent.spec, parent, space);
      parent.addChild(child);
      disks.put(childName, child);
      return child.openHandle(false);
    }
  }

  /**
   * {@inheritDoc}
   *
   * <p>The merge takes what the child reads as (flushed or not) and is durable when it returns.
   *
   * @throws NoSuchFileException if there is no disk named {@code childName}
   * @throws FileSystemException if the disk is not a differencing child, if the child or its parent
   *     is open, if the child has children itself, or if the parent has other children
   * @throws IOException "no space left" if the store's capacity cannot hold the merged chunks
   */
  @Override
  public void mergeIntoParent(String childName) throws IOException {
    synchronized (lock) {
      DiskContent child = existing(childName);
      DiskContent parent = child.parent;
      if (parent == null) {
        throw new FileSystemException(childName, null,
            "the disk is not a differencing child, so there is nothing to merge");
      }
      List<String> busy = new ArrayList<>();
      if (child.openHandleCount() > 0) {
        busy.add("'" + childName + "' (" + child.openHandleCount() + " handle(s))");
      }
      if (parent.openHandleCount() > 0) {
        busy.add("'" + parent.name + "' (" + parent.openHandleCount() + " handle(s))");
      }
      if (!busy.isEmpty()) {
        throw new FileSystemException(childName, parent.name,
            "cannot merge while open: " + String.join(", ", busy) + "; close every handle first");
      }
      if (!child.childNames().isEmpty()) {
        throw new FileSystemException(childName, parent.name,
            "the disk is itself the parent of " + child.childNames() + "; merge those first");
      }
      List<String> siblings = parent.childNames();
      if (siblings.size() > 1) {
        siblings.remove(childName);
        throw new FileSystemException(childName, parent.name,
            "the parent has other differencing children " + siblings + " that would see the merged"
                + " data; delete them first");
      }
      child.mergeIntoParent();
      disks.remove(childName);
    }
  }

  /** Does nothing: the store keeps its disks, and open handles stay open (see the class comment). */
  @Override
  public void close() {}

  // ---------------------------------------------------------------- test controls

  /**
   * Simulates a crash of the host: every disk loses its unflushed writes and trims, and every open
   * handle is closed (its calls throw {@link java.nio.channels.ClosedChannelException}). Disks,
   * names and parent links survive.
   */
  public void simulateCrash() {
    crash(null);
  }

  /**
   * Like {@link #simulateCrash()}, but each unflushed sector survives or not by a coin flip of
   * {@code torn} (see {@link InMemoryVirtualDisk#simulateCrash(RandomGenerator)}). Disks are visited
   * parents first, then by name, so the same generator state gives the same outcome.
   */
  public void simulateCrash(RandomGenerator torn) {
    crash(Objects.requireNonNull(torn, "torn"));
  }

  /**
   * Checks that every handle this store handed out was closed.
   *
   * @throws IllegalStateException listing each open handle's disk, with the stack that opened the
   *     first as the cause and the others as suppressed exceptions
   */
  public void checkNoOpenHandles() {
    StorageLeaks.check("the " + label, openings());
  }

  /** How many handles are open across all disks. */
  public int openHandleCount() {
    synchronized (lock) {
      int count = 0;
      for (DiskContent content : disks.values()) {
        count += content.openHandleCount();
      }
      return count;
    }
  }

  /**
   * Limits the memory all disks of the store may hold together (counted in 64 KiB chunks), like the
   * size of a volume: a write that needs more fails with "no space left" and writes nothing.
   * {@link Long#MAX_VALUE} removes the limit; a lower limit than what is used stops new allocation.
   *
   * @throws IllegalArgumentException if {@code capacityBytes} is negative
   */
  public void setCapacityBytes(long capacityBytes) {
    space.setCapacityBytes(capacityBytes);
  }

  /** Bytes of memory held by all disks' chunks. */
  public long allocatedBytes() {
    return space.usedBytes();
  }

  @Override
  public String toString() {
    synchronized (lock) {
      return "InMemoryDiskStore[" + label + ", " + disks.size() + " disks]";
    }
  }

  // ---------------------------------------------------------------- package-private

  List<StorageLeaks.OpenedAt> openings() {
    synchronized (lock) {
      List<StorageLeaks.OpenedAt> result = new ArrayList<>();
      for (DiskContent content : disks.values()) {
        result.addAll(content.openings());
      }
      return result;
    }
  }

  private void crash(@Nullable RandomGenerator torn) {
    synchronized (lock) {
      List<DiskContent> ordered = new ArrayList<>(disks.values());
      ordered.sort(Comparator.comparingInt(DiskContent::depth)); // stable: by name within a depth
      for (DiskContent content : ordered) {
        content.crash(torn);
        content.invalidateHandles("was invalidated by a simulated crash of the " + label);
      }
    }
  }

  private DiskContent existing(String name) throws NoSuchFileException {
    StorageNames.check(Objects.requireNonNull(name, "name"));
    DiskContent content = disks.get(name);
    if (content == null) {
      throw new NoSuchFileException(name, null,
          "no disk of that name in the " + label + "; create it first (disks: " + disks.size()
              + ")");
    }
    return content;
  }
}
