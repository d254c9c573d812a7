package io.replica.testkit.memory;

import io.replica.spi.storage.DiskSpec;
import io.replica.spi.storage.DiskStore;
import io.replica.spi.storage.StorageNames;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.TreeMap;
import java.util.random.RandomGenerator;
import org.jspecify.annotations.Nullable;

/**
 * A {@link DiskStore} in memory: the replica's disks in tests and simulations, with crash
 * simulation, a capacity limit and leak detection.
 *
 * <p>Strict like a file system: names must pass {@link StorageNames#check(String)}; creating an
 * existing disk fails with {@link FileAlreadyExistsException}, opening a missing one with
 * {@link NoSuchFileException}; an open disk cannot be deleted ({@link FileSystemException}). A
 * disk may be opened many times; all handles share its content.
 *
 * <p>{@link #simulateCrash()} is the host losing power: every disk loses its unflushed writes and
 * every open handle becomes unusable, so the code under test has to reopen, as after a restart.
 * {@link #checkNoOpenHandles()} at the end of a test reports every handle that was never closed with
 * the stack that opened it (like okio's {@code FakeFileSystem}).
 *
 * <p>{@link #close()} is the volume being unmounted: handles still open fail every I/O call from
 * then on (rule D2.21) and still count as leaks until closed. An {@link InMemoryStorageProvider}
 * never closes its stores, so that it can hand the same store to a restarted engine. Safe for
 * concurrent use.
 */
public final class InMemoryDiskStore implements DiskStore {

  private final String label;
  private final Object lock = new Object();
  private final TreeMap<String, DiskContent> disks = new TreeMap<>(); // guarded by lock
  private boolean closed; // guarded by lock
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
      ensureOpen();
      if (disks.containsKey(name)) {
        throw new FileAlreadyExistsException(name, null,
            "a disk of that name already exists in the " + label + "; open it or pick another name");
      }
      DiskContent content = new DiskContent(name, spec, space);
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
      ensureOpen();
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

  /**
   * The names of all disks, sorted, for tests that check what a run left in the store (the engine
   * never lists).
   *
   * @throws IllegalStateException if the store is closed
   */
  public List<String> list() {
    synchronized (lock) {
      ensureOpen();
      return List.copyOf(disks.keySet());
    }
  }

  /**
   * Closes the store: every handle still open fails each I/O call from then on with a {@link
   * java.nio.channels.ClosedChannelException} that names the store, yet stays listed by {@link
   * #checkNoOpenHandles()} until it is closed. The disks keep their content. Later calls on the
   * store throw {@link IllegalStateException}; closing again does nothing.
   */
  @Override
  public void close() {
    synchronized (lock) {
      if (closed) {
        return;
      }
      closed = true;
      for (DiskContent content : disks.values()) {
        content.revokeHandles("was left open when the " + label + " was closed");
      }
    }
  }

  // ---------------------------------------------------------------- test controls

  /**
   * Simulates a crash of the host: every disk loses its unflushed writes and trims, and every open
   * handle is closed (its calls throw {@link java.nio.channels.ClosedChannelException}). Disks and
   * names survive.
   */
  public void simulateCrash() {
    crash(null);
  }

  /**
   * Like {@link #simulateCrash()}, but each unflushed sector survives or not by a coin flip of
   * {@code torn} (see {@link InMemoryVirtualDisk#simulateCrash(RandomGenerator)}). Disks are visited
   * by name, so the same generator state gives the same outcome.
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
      for (DiskContent content : disks.values()) {
        content.crash(torn);
        content.invalidateHandles("was invalidated by a simulated crash of the " + label);
      }
    }
  }

  private void ensureOpen() {
    if (closed) {
      throw new IllegalStateException(
          "the " + label + " is closed; use a store that is open (a provider hands out open ones)");
    }
  }

  private DiskContent existing(String name) throws NoSuchFileException {
    StorageNames.check(Objects.requireNonNull(name, "name"));
    ensureOpen();
    DiskContent content = disks.get(name);
    if (content == null) {
      throw new NoSuchFileException(name, null,
          "no disk of that name in the " + label + "; create it first (disks: " + disks.size()
              + ")");
    }
    return content;
  }
}
