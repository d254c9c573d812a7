package io.replica.spi.storage;

import java.io.Closeable;
import java.io.IOException;
import java.util.List;

/**
 * A place that holds virtual disks by name: a folder of VHDX files, memory, an embedder's volume
 * manager.
 *
 * <p>Names are relative paths that the engine derives from ids, such as
 * {@code 3f0c.../disks/9a41...}; see {@link StorageNames#check(String)} for the rules. A store
 * maps them onto its medium and never lets a name reach outside its root. Rules D2.x in
 * {@code docs/spi-rules.md}; the testkit's {@code DiskStoreContract} checks them.
 *
 * <p>A store that a {@link StorageProvider} hands out belongs to the provider: the engine closes
 * the disks it opened, never the store.
 */
public interface DiskStore extends Closeable {

  /**
   * Creates an empty disk (reads as zeros) and opens it for writing.
   *
   * @throws java.nio.file.FileAlreadyExistsException if a disk of that name exists; nothing changes
   * @throws IllegalArgumentException if the name breaks {@link StorageNames#check(String)}
   */
  VirtualDisk create(String name, DiskSpec spec) throws IOException;

  /**
   * Opens an existing disk.
   *
   * @throws java.nio.file.NoSuchFileException if there is no disk of that name
   */
  VirtualDisk open(String name, boolean readOnly) throws IOException;

  /** Whether a disk of that name exists. */
  boolean exists(String name) throws IOException;

  /**
   * Deletes a disk that no handle has open.
   *
   * @throws java.nio.file.NoSuchFileException if there is no disk of that name
   * @throws java.nio.file.FileSystemException if the disk is open or is the parent of a child
   */
  void delete(String name) throws IOException;

  /** The names of all disks, sorted. */
  List<String> list() throws IOException;

  /**
   * Creates a differencing child of {@code parentName}: it reads as the parent until written, and
   * writes to it never reach the parent. While the child exists the parent must not be written.
   *
   * @throws UnsupportedOperationException if the store has no differencing disks; nothing changes
   */
  default VirtualDisk createChild(String childName, String parentName) throws IOException {
    throw new UnsupportedOperationException(
        getClass().getSimpleName() + " cannot create differencing disks");
  }

  /**
   * Writes the blocks a child holds into its parent and deletes the child. Neither may be open.
   *
   * @throws UnsupportedOperationException if the store has no differencing disks; nothing changes
   */
  default void mergeIntoParent(String childName) throws IOException {
    throw new UnsupportedOperationException(
        getClass().getSimpleName() + " cannot merge differencing disks");
  }
}
