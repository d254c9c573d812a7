package io.replica.storage.vhdx;

import io.replica.spi.storage.DiskSpec;
import io.replica.spi.storage.DiskStore;
import io.replica.spi.storage.StorageNames;
import io.replica.spi.storage.VirtualDisk;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * A folder of VHDX files as a {@link DiskStore}: disk {@code a/b} is {@code <root>/a/b.vhdx}, a
 * differencing child is {@code <root>/a/b.avhdx}.
 *
 * <p>Handles of one disk share one open file, so a read-only handle sees what a writable handle
 * of the same store wrote. Names are checked with {@link StorageNames#check(String)} and must
 * resolve inside the root, so no name reaches another folder.
 *
 * <p>Beyond the SPI, the store offers what VHDX does natively and tools use: differencing children
 * ({@link #createChild}, {@link #mergeIntoParent}) and a listing ({@link #list()}). The engine uses
 * none of them. Children name their parent by a relative path, so the folder can be moved as a
 * whole.
 *
 * <p>{@link #close()} closes every file, also those of handles still open; those handles then fail
 * each I/O call with a {@link java.nio.channels.ClosedChannelException} that names the store.
 */
public final class VhdxDiskStore implements DiskStore {

  /** The extension of differencing children. */
  public static final String CHILD_EXTENSION = ".avhdx";

  private final Path root;
  private final Map<Path, Shared> open = new HashMap<>();
  private boolean closed;

  private static final class Shared {
    final VhdxFile file;
    /** The open handles of the file, in the order they were opened. */
    final List<VhdxDisk> handles = new ArrayList<>();

    Shared(VhdxFile file) {
      this.file = file;
    }
  }

  /**
   * A store over {@code root}, created if missing.
   *
   * @throws IOException if the folder cannot be created
   */
  public VhdxDiskStore(Path root) throws IOException {
    Files.createDirectories(Objects.requireNonNull(root, "root"));
    this.root = root.toRealPath();
  }

  /** The folder that holds the disks. */
  public Path root() {
    return root;
  }

  /**
   * The file of an existing disk, for tools that take a path.
   *
   * @throws NoSuchFileException if there is no disk of that name
   */
  public Path pathOf(String name) throws IOException {
    return existing(name);
  }

  private Path candidate(String name, String extension) throws IOException {
    StorageNames.check(Objects.requireNonNull(name, "name"));
    Path p = root.resolve(name + extension).normalize();
    if (!p.startsWith(root) || p.equals(root)) {
      throw new IllegalArgumentException(
          "storage name '" + name + "' resolves outside the store folder " + root);
    }
    Path dir = p.getParent();
    while (dir != null && !Files.exists(dir)) {
      dir = dir.getParent();
    }
    if (dir != null && !dir.toRealPath().startsWith(root)) {
      throw new IllegalArgumentException(
          "storage name '" + name + "' leads through a link outside the store folder " + root);
    }
    return p;
  }

  private Path existing(String name) throws IOException {
    Path disk = candidate(name, Vhdx.EXTENSION);
    if (Files.isRegularFile(disk)) {
      return disk;
    }
    Path child = candidate(name, CHILD_EXTENSION);
    if (Files.isRegularFile(child)) {
      return child;
    }
    throw new NoSuchFileException(disk.toString(), null, "no disk named '" + name + "' in " + root);
  }

  private void refuseExisting(String name) throws IOException {
    for (String ext : List.of(Vhdx.EXTENSION, CHILD_EXTENSION)) {
      Path p = candidate(name, ext);
      if (Files.exists(p)) {
        throw new FileAlreadyExistsException(
            p.toString(), null, "a disk named '" + name + "' exists; delete it first");
      }
    }
  }

  @Override
  public synchronized VirtualDisk create(String name, DiskSpec spec) throws IOException {
    ensureOpen();
    Objects.requireNonNull(spec, "spec");
    refuseExisting(name);
    Path p = candidate(name, Vhdx.EXTENSION);
    Files.createDirectories(p.getParent());
    VhdxFile.create(p, new VhdxFile.Options(spec.sizeBytes(), spec.logicalSectorSizeBytes(),
        spec.physicalSectorSizeBytes(), VhdxFile.DEFAULT_BLOCK_SIZE, spec.fixed(), null, null));
    return handle(p, false);
  }

  @Override
  public synchronized VirtualDisk open(String name, boolean readOnly) throws IOException {
    ensureOpen();
    return handle(existing(name), readOnly);
  }

  private VirtualDisk handle(Path p, boolean readOnly) throws IOException {
    Shared s = open.get(p);
    if (s == null) {
      s = new Shared(VhdxFile.open(p, !readOnly, true));
      open.put(p, s);
    } else if (!readOnly) {
      s.file.upgradeToWritable();
    }
    VhdxDisk disk = new VhdxDisk(s.file, readOnly, d -> release(p, d));
    s.handles.add(disk);
    return disk;
  }

  private synchronized void release(Path p, VhdxDisk disk) throws IOException {
    Shared s = open.get(p);
    if (s != null && s.handles.remove(disk) && s.handles.isEmpty()) {
      open.remove(p);
      s.file.close();
    }
  }

  @Override
  public synchronized boolean exists(String name) throws IOException {
    ensureOpen();
    return Files.isRegularFile(candidate(name, Vhdx.EXTENSION))
        || Files.isRegularFile(candidate(name, CHILD_EXTENSION));
  }

  @Override
  public synchronized void delete(String name) throws IOException {
    ensureOpen();
    Path p = existing(name);
    if (open.containsKey(p)) {
      throw new FileSystemException(
          p.toString(), null, "disk '" + name + "' is open; close every handle before deleting");
    }
    Path child = childOf(p);
    if (child != null) {
      throw new FileSystemException(
          p.toString(), child.toString(),
          "disk '" + name + "' is the parent of a differencing disk; merge or delete the child"
              + " first");
    }
    Files.delete(p);
  }

  /** A differencing file in the store whose locator leads to {@code parent}, or null. */
  private Path childOf(Path parent) throws IOException {
    List<Path> children;
    try (Stream<Path> files = Files.walk(root)) {
      children = files.filter(f -> f.toString().endsWith(CHILD_EXTENSION)).toList();
    }
    for (Path c : children) {
      try {
        for (Path candidate : VhdxFile.parentCandidatesOf(c)) {
          if (candidate.equals(parent)) {
            return c;
          }
        }
      } catch (CorruptDiskException e) {
        // a damaged child names no parent we could honour
      }
    }
    return null;
  }

  /**
   * The names of all disks and children in the folder, sorted by {@link String#compareTo}, for
   * operators' tools and tests; files whose names the store could not have made are left out.
   *
   * @throws IllegalStateException if the store is closed
   */
  public synchronized List<String> list() throws IOException {
    ensureOpen();
    TreeSet<String> names = new TreeSet<>();
    try (Stream<Path> files = Files.walk(root)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        String file = f.getFileName().toString();
        String ext = file.endsWith(Vhdx.EXTENSION) ? Vhdx.EXTENSION
            : file.endsWith(CHILD_EXTENSION) ? CHILD_EXTENSION : null;
        if (ext == null || !Files.isRegularFile(f)) {
          continue;
        }
        String rel = root.relativize(f).toString().replace(f.getFileSystem().getSeparator(), "/");
        String name = rel.substring(0, rel.length() - ext.length());
        try {
          StorageNames.check(name);
          names.add(name);
        } catch (IllegalArgumentException notOurs) {
          // a file the store did not make
        }
      }
    }
    return new ArrayList<>(names);
  }

  /**
   * Creates a differencing child of {@code parentName} and opens it for writing: it reads as the
   * parent until written, and writes to it never reach the parent. While the child exists the
   * parent must not be written (that would break the child) and cannot be deleted.
   *
   * @throws java.nio.file.FileAlreadyExistsException if a disk named {@code childName} exists
   * @throws NoSuchFileException if there is no disk named {@code parentName}
   * @throws FileSystemException if the parent is open for writing
   * @throws IllegalArgumentException if a name breaks {@link StorageNames#check(String)}
   * @throws IllegalStateException if the store is closed
   */
  public synchronized VirtualDisk createChild(String childName, String parentName)
      throws IOException {
    ensureOpen();
    StorageNames.check(Objects.requireNonNull(childName, "childName"));
    Path parent = existing(parentName);
    refuseExisting(childName);
    Shared s = open.get(parent);
    if (s != null && s.file.isWritable()) {
      throw new FileSystemException(
          parent.toString(), null,
          "disk '" + parentName + "' is open for writing; close it before creating a child");
    }
    Path child = candidate(childName, CHILD_EXTENSION);
    Files.createDirectories(child.getParent());
    VhdxFile.createChild(child, parent);
    return handle(child, false);
  }

  /**
   * Writes the blocks the child holds into its parent and deletes the child, so the parent reads
   * as the child did. A crash halfway leaves a child that reads the same, so the merge can run
   * again.
   *
   * @throws NoSuchFileException if there is no disk named {@code childName}
   * @throws FileSystemException if the child or its parent is open
   * @throws IllegalArgumentException if the disk is not a differencing child, or the name breaks
   *     {@link StorageNames#check(String)}
   * @throws IllegalStateException if the store is closed
   */
  public synchronized void mergeIntoParent(String childName) throws IOException {
    ensureOpen();
    Path child = existing(childName);
    if (open.containsKey(child)) {
      throw new FileSystemException(
          child.toString(), null, "disk '" + childName + "' is open; close it before merging");
    }
    List<Path> parents = VhdxFile.parentCandidatesOf(child);
    if (parents.isEmpty()) {
      throw new IllegalArgumentException(
          "disk '" + childName + "' is not a differencing disk; there is nothing to merge");
    }
    for (Path p : parents) {
      if (open.containsKey(p)) {
        throw new FileSystemException(
            p.toString(), null, "the parent of '" + childName + "' is open; close it first");
      }
    }
    VhdxDisk.mergeIntoParent(child);
    Files.delete(child);
  }

  private void ensureOpen() {
    if (closed) {
      throw new IllegalStateException("the VHDX store at " + root + " is closed");
    }
  }

  /**
   * Closes the store and every file a handle still holds open (cleanly: the BAT and log are
   * written out); such handles then fail each I/O call with a {@link
   * java.nio.channels.ClosedChannelException} that names the store (rule D2.21).
   */
  @Override
  public synchronized void close() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
    IOException first = null;
    for (Map.Entry<Path, Shared> entry : open.entrySet()) {
      Shared s = entry.getValue();
      String disk = root.relativize(entry.getKey()).toString();
      for (VhdxDisk handle : s.handles) {
        handle.revoke("the VHDX store at " + root + " was closed under the open disk file '" + disk
            + "'; open the disk again from a new store");
      }
      try {
        s.file.close();
      } catch (IOException e) {
        if (first == null) {
          first = e;
        } else {
          first.addSuppressed(e);
        }
      }
    }
    open.clear();
    if (first != null) {
      throw first;
    }
  }
}
