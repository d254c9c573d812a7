package io.replica.testkit.contract;

import io.replica.spi.storage.DiskSpec;
import io.replica.spi.storage.DiskStore;
import io.replica.spi.storage.StorageNames;
import io.replica.spi.storage.VirtualDisk;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

/** The smallest correct {@link DiskStore}: a sorted map of {@link RefDisk} backings. */
final class RefDiskStore implements DiskStore {

  private static final class Entry {
    final RefDisk.Backing backing;
    final List<RefDisk> open = new ArrayList<>();

    Entry(RefDisk.Backing backing) {
      this.backing = backing;
    }
  }

  private final TreeMap<String, Entry> disks = new TreeMap<>();
  private boolean closed;

  @Override
  public synchronized VirtualDisk create(String name, DiskSpec spec) throws FileAlreadyExistsException {
    StorageNames.check(name);
    checkOpen();
    if (disks.containsKey(name)) {
      throw new FileAlreadyExistsException(name);
    }
    Entry entry = new Entry(new RefDisk.Backing(spec));
    disks.put(name, entry);
    return handle(entry, false);
  }

  @Override
  public synchronized VirtualDisk open(String name, boolean readOnly) throws NoSuchFileException {
    return handle(entry(name), readOnly);
  }

  @Override
  public synchronized boolean exists(String name) {
    StorageNames.check(name);
    checkOpen();
    return disks.containsKey(name);
  }

  @Override
  public synchronized void delete(String name) throws FileSystemException {
    Entry entry = entry(name);
    if (!entry.open.isEmpty()) {
      throw new FileSystemException(name, null, "the disk is open");
    }
    disks.remove(name);
  }

  /** Revokes every open handle and refuses later calls (D2.21); a second close does nothing. */
  @Override
  public synchronized void close() {
    closed = true;
    revokeHandles();
  }

  /** Makes every open handle fail its I/O, as a closed store must. */
  synchronized void revokeHandles() {
    for (Entry entry : disks.values()) {
      for (RefDisk handle : entry.open) {
        handle.revoke();
      }
    }
  }

  /** A crash of the medium: every disk loses what was not flushed; names survive. */
  synchronized void crash() {
    for (Entry entry : disks.values()) {
      entry.backing.crash();
    }
  }

  synchronized boolean isOpen(String name) throws NoSuchFileException {
    return !entry(name).open.isEmpty();
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("the store is closed");
    }
  }

  private Entry entry(String name) throws NoSuchFileException {
    StorageNames.check(name);
    checkOpen();
    Entry entry = disks.get(name);
    if (entry == null) {
      throw new NoSuchFileException(name);
    }
    return entry;
  }

  private VirtualDisk handle(Entry entry, boolean readOnly) {
    RefDisk[] handle = new RefDisk[1];
    handle[0] = new RefDisk(entry.backing, readOnly, () -> release(entry, handle[0]));
    entry.open.add(handle[0]);
    return handle[0];
  }

  private synchronized void release(Entry entry, RefDisk handle) {
    entry.open.remove(handle);
  }
}
