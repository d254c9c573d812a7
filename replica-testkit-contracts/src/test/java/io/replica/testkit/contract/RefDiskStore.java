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

/**
 * The smallest correct {@link DiskStore}: a sorted map of {@link RefDisk} backings. A child is a
 * copy of its parent taken at creation, which reads the same as a real differencing disk because
 * the parent must not be written while the child exists.
 */
final class RefDiskStore implements DiskStore {

  private static final class Entry {
    final RefDisk.Backing backing;
    final String parent;
    int handles;

    Entry(RefDisk.Backing backing, String parent) {
      this.backing = backing;
      this.parent = parent;
    }
  }

  private final TreeMap<String, Entry> disks = new TreeMap<>();

  @Override
  public synchronized VirtualDisk create(String name, DiskSpec spec) throws FileAlreadyExistsException {
    StorageNames.check(name);
    if (disks.containsKey(name)) {
      throw new FileAlreadyExistsException(name);
    }
    Entry entry = new Entry(new RefDisk.Backing(spec), null);
    disks.put(name, entry);
    return handle(entry, false);
  }

  @Override
  public synchronized VirtualDisk open(String name, boolean readOnly) throws NoSuchFileException {
    return handle(entry(name), readOnly);
  }

  @Override
  public synchronized boolean exists(String name) {
    return disks.containsKey(StorageNames.check(name));
  }

  @Override
  public synchronized void delete(String name) throws FileSystemException {
    Entry entry = entry(name);
    if (entry.handles > 0) {
      throw new FileSystemException(name, null, "the disk is open");
    }
    if (hasChildren(name)) {
      throw new FileSystemException(name, null, "the disk is the parent of a child");
    }
    disks.remove(name);
  }

  @Override
  public synchronized List<String> list() {
    return new ArrayList<>(disks.keySet());
  }

  @Override
  public synchronized VirtualDisk createChild(String childName, String parentName)
      throws FileSystemException {
    StorageNames.check(childName);
    Entry parent = entry(parentName);
    if (disks.containsKey(childName)) {
      throw new FileAlreadyExistsException(childName);
    }
    byte[] copy;
    synchronized (parent.backing) {
      copy = parent.backing.bytes.clone();
    }
    Entry child = new Entry(new RefDisk.Backing(copy, parent.backing.sectorBytes), parentName);
    disks.put(childName, child);
    return handle(child, false);
  }

  @Override
  public synchronized void mergeIntoParent(String childName) throws FileSystemException {
    Entry child = entry(childName);
    if (child.parent == null) {
      throw new IllegalArgumentException("'" + childName + "' is not a differencing disk");
    }
    Entry parent = entry(child.parent);
    if (child.handles > 0 || parent.handles > 0) {
      throw new FileSystemException(childName, child.parent, "the child or parent is open");
    }
    synchronized (parent.backing) {
      System.arraycopy(child.backing.bytes, 0, parent.backing.bytes, 0, child.backing.bytes.length);
    }
    disks.remove(childName);
  }

  @Override
  public void close() {}

  /** A crash of the medium: every disk loses what was not flushed; names and parents survive. */
  synchronized void crash() {
    for (Entry entry : disks.values()) {
      entry.backing.crash();
    }
  }

  synchronized boolean isOpen(String name) throws NoSuchFileException {
    return entry(name).handles > 0;
  }

  synchronized boolean hasChildren(String name) {
    return disks.values().stream().anyMatch(e -> name.equals(e.parent));
  }

  private Entry entry(String name) throws NoSuchFileException {
    Entry entry = disks.get(StorageNames.check(name));
    if (entry == null) {
      throw new NoSuchFileException(name);
    }
    return entry;
  }

  private VirtualDisk handle(Entry entry, boolean readOnly) {
    entry.handles++;
    return new RefDisk(entry.backing, readOnly, () -> release(entry));
  }

  private synchronized void release(Entry entry) {
    entry.handles--;
  }
}
