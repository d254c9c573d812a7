package io.replica.spi.storage;

import java.io.IOException;
import java.util.List;
import java.util.Optional;

/**
 * Small named documents and append-only logs that the engine keeps beside the disks: the replica's
 * {@code replica.json} and its cycle journal.
 *
 * <p>Names follow {@link StorageNames#check(String)}. A document write is atomic and durable when
 * the call returns: after a crash a reader sees the old or the new content, never a mix. Rules
 * D3.x in {@code docs/spi-rules.md}.
 */
public interface StateStore {

  /** Replaces the document atomically and durably. */
  void write(String name, byte[] content) throws IOException;

  /** The document's content, or empty if there is none. */
  Optional<byte[]> read(String name) throws IOException;

  /**
   * Opens a log for appending, creating it empty if needed. Only one handle per log may be open.
   *
   * @throws java.nio.file.FileSystemException if the log is already open
   */
  AppendLog openLog(String name) throws IOException;

  /** Deletes a document or a closed log; does nothing if there is none. */
  void delete(String name) throws IOException;

  /** The names of documents and logs that start with {@code prefix}, sorted. */
  List<String> list(String prefix) throws IOException;
}
