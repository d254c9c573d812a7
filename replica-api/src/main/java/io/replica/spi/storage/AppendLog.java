package io.replica.spi.storage;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * An append-only log of bytes. Appended bytes are readable at once and survive a crash only once
 * {@link #sync()} returned; after a crash the log holds a prefix of what was appended that is at
 * least as long as what was synced.
 */
public interface AppendLog extends Closeable {

  /** The number of bytes in the log. */
  long size() throws IOException;

  /** Appends all remaining bytes of {@code src}. */
  void append(ByteBuffer src) throws IOException;

  /** Makes everything appended so far durable. */
  void sync() throws IOException;

  /**
   * Reads {@code dst.remaining()} bytes from {@code position}.
   *
   * @throws java.io.EOFException if the log ends first
   */
  void read(long position, ByteBuffer dst) throws IOException;

  /** Cuts the log to {@code sizeBytes}, dropping a torn tail found on recovery. */
  void truncate(long sizeBytes) throws IOException;
}
