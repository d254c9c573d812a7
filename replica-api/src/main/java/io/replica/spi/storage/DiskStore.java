package io.replica.spi.storage;

import java.io.Closeable;
import java.io.IOException;

/**
 * A place that holds virtual disks by name: a folder of VHDX files, memory, an embedder's volume
 * manager.
 *
 * <p>Names are relative paths that the engine derives from ids, such as
 * {@code 3f0c.../disks/9a41...}; see {@link StorageNames#check(String)} for the rules. A store
 * maps them onto its medium and never lets a name reach outside its root. Rules D2.x in
 * {@code docs/spi-rules.md}; the testkit's {@code DiskStoreContract} checks them.
 *
 * <p>The interface asks for exactly what the engine calls: create, open, exists and delete. The
 * engine builds failovers from plain disks and overlays of its own, so a store needs no
 * differencing disks, merges or listing; a store that has them (the VHDX store does) offers them
 * as its own API.
 *
 * <p>Who closes what: whoever made the store (the {@link StorageProvider}, or the embedder that
 * built it) closes it, once the engine that used it is closed; the engine never closes a store.
 * The engine closes every disk it opened or created.
 */
public interface DiskStore extends Closeable {

  /**
   * Creates an empty disk (reads as zeros) and opens it for writing.
   *
   * @throws java.nio.file.FileAlreadyExistsException if a disk of that name exists; nothing changes
   * @throws IllegalArgumentException if the name breaks {@link StorageNames#check(String)}
   * @throws IllegalStateException if the store is closed
   */
  VirtualDisk create(String name, DiskSpec spec) throws IOException;

  /**
   * Opens an existing disk.
   *
   * @throws java.nio.file.NoSuchFileException if there is no disk of that name
   * @throws IllegalStateException if the store is closed
   */
  VirtualDisk open(String name, boolean readOnly) throws IOException;

  /**
   * Whether a disk of that name exists.
   *
   * @throws IllegalStateException if the store is closed
   */
  boolean exists(String name) throws IOException;

  /**
   * Deletes a disk that no handle has open.
   *
   * @throws java.nio.file.NoSuchFileException if there is no disk of that name
   * @throws java.nio.file.FileSystemException if the disk is open
   * @throws IllegalStateException if the store is closed
   */
  void delete(String name) throws IOException;

  /**
   * Releases the medium. Handles the store handed out that are still open stay objects, but every
   * {@code read}, {@code write}, {@code flush}, {@code allocatedRanges} and {@code trim} on them
   * throws {@link java.nio.channels.ClosedChannelException} from then on, so a disk that outlives
   * its store fails loudly instead of reading stale bytes or zeros; their {@code close()} still
   * succeeds, since the engine closes its disks whatever the order of shutdown. Writes that were
   * flushed stay durable; writes that were not may be lost. Every other call on the store then throws {@link
   * IllegalStateException}; a second {@code close()} does nothing (rule D2.21).
   *
   * @throws IOException if the medium fails while releasing; the store is closed all the same
   */
  @Override
  void close() throws IOException;
}
