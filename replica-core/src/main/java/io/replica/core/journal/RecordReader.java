package io.replica.core.journal;

import io.replica.api.CorruptDataException;
import io.replica.spi.storage.AppendLog;
import java.io.IOException;
import java.nio.ByteBuffer;
import org.jspecify.annotations.Nullable;

/**
 * Reads framed records ({@link JournalCodec}) out of an append log: the one reader of cycle
 * journals and undo logs alike. A record cut short by a crash (a torn tail) ends a log.
 */
public final class RecordReader {
  private RecordReader() {}

  /** A record and the bytes it takes in the log. */
  public record Framed(JournalRecord record, long length) {}

  /** Receives the records of a log in order, each with the position it starts at. */
  public interface Visitor {
    void accept(long position, JournalRecord record) throws IOException;
  }

  /**
   * The record at {@code position}, or null if no whole record starts there before {@code size}
   * (the log ends, or its tail is torn).
   *
   * @throws CorruptDataException if a whole record fails its checksum
   */
  public static @Nullable Framed readAt(AppendLog log, long position, long size) throws IOException {
    if (size - position < JournalCodec.HEADER_BYTES) {
      return null;
    }
    ByteBuffer header = ByteBuffer.allocate(JournalCodec.HEADER_BYTES);
    log.read(position, header);
    long length = JournalCodec.recordLength(header.flip());
    if (length < 0 || position + length > size) {
      return null;
    }
    ByteBuffer record = ByteBuffer.allocate((int) length);
    log.read(position, record);
    return new Framed(JournalCodec.decode(record.flip()), length);
  }

  /**
   * Reads every record from the start, in order, up to the end or a torn tail, and returns where
   * reading stopped: the log's size unless its tail is torn.
   *
   * @param corruptEnds whether a record that fails its checksum counts as a torn tail (an undo log,
   *     never synced record by record) rather than damage (a journal, synced whole at its commit)
   * @throws CorruptDataException if a record fails its checksum and {@code corruptEnds} is false
   */
  public static long readAll(AppendLog log, boolean corruptEnds, Visitor visitor) throws IOException {
    long size = log.size();
    long position = 0;
    while (true) {
      Framed f;
      try {
        f = readAt(log, position, size);
      } catch (CorruptDataException e) {
        if (corruptEnds) {
          return position;
        }
        throw e;
      }
      if (f == null) {
        return position;
      }
      visitor.accept(position, f.record());
      position += f.length();
    }
  }
}
