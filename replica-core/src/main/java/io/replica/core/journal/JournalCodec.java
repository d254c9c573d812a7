package io.replica.core.journal;

import io.replica.api.CorruptDataException;
import io.replica.api.DiskId;
import io.replica.api.RecoveryPointType;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.UUID;
import java.util.zip.CRC32C;

/**
 * The journal's record format: {@code u32 bodyLength, u8 type, body, u32 crc32c(type, body)},
 * big-endian. The length is checked against {@link #MAX_BODY_BYTES} before anything is allocated.
 */
public final class JournalCodec {
  /** The largest body: a block message's payload bound plus its header. */
  static final int MAX_BODY_BYTES = (16 << 20) + 64;
  static final int HEADER_BYTES = 5;
  static final int TRAILER_BYTES = 4;

  private static final byte BEGIN = 1;
  private static final byte BLOCK = 2;
  private static final byte ZERO = 3;
  private static final byte COMMIT = 4;

  private JournalCodec() {}

  public static ByteBuffer encode(JournalRecord record) {
    ByteBuffer buf;
    if (record instanceof JournalRecord.Begin b) {
      buf = start(BEGIN, 8 + 8 + 8 + 4 + 1);
      buf.putLong(b.cycle()).putLong(b.baseCycle())
          .putLong(b.cutTime().getEpochSecond()).putInt(b.cutTime().getNano())
          .put((byte) (b.point() == null ? 0 : b.point().ordinal() + 1));
    } else if (record instanceof JournalRecord.Block b) {
      buf = start(BLOCK, 16 + 8 + b.data().length);
      putDisk(buf, b.disk());
      buf.putLong(b.offsetBytes()).put(b.data());
    } else if (record instanceof JournalRecord.Zero z) {
      buf = start(ZERO, 16 + 8 + 8);
      putDisk(buf, z.disk());
      buf.putLong(z.offsetBytes()).putLong(z.lengthBytes());
    } else {
      JournalRecord.Commit c = (JournalRecord.Commit) record;
      buf = start(COMMIT, 8 + 8 + 4);
      buf.putLong(c.messageCount()).putLong(c.payloadBytes()).putInt(c.contentCrc32c());
    }
    int bodyLength = buf.getInt(0);
    CRC32C crc = new CRC32C();
    crc.update(buf.array(), 4, 1 + bodyLength);
    buf.putInt((int) crc.getValue());
    return buf.flip();
  }

  private static ByteBuffer start(byte type, int bodyLength) {
    return ByteBuffer.allocate(HEADER_BYTES + bodyLength + TRAILER_BYTES).putInt(bodyLength).put(type);
  }

  /**
   * The total length of the record whose header starts {@code header}, or -1 if the header holds a
   * length no record can have (a torn or corrupt tail).
   */
  static long recordLength(ByteBuffer header) {
    int bodyLength = header.getInt(header.position());
    if (bodyLength < 0 || bodyLength > MAX_BODY_BYTES) {
      return -1;
    }
    return HEADER_BYTES + (long) bodyLength + TRAILER_BYTES;
  }

  /**
   * Decodes one whole record (header to trailer).
   *
   * @throws CorruptDataException if the checksum, type or body length is wrong
   */
  static JournalRecord decode(ByteBuffer record) {
    ByteBuffer buf = record.slice();
    long expected = recordLength(buf);
    if (expected < 0 || expected != buf.remaining()) {
      throw new CorruptDataException(
          "journal record of " + buf.remaining() + " bytes has an invalid length field");
    }
    int bodyLength = buf.getInt();
    CRC32C crc = new CRC32C();
    crc.update(buf.duplicate().limit(4 + 1 + bodyLength));
    int stored = buf.getInt(4 + 1 + bodyLength);
    if ((int) crc.getValue() != stored) {
      throw new CorruptDataException("journal record fails its CRC-32C check");
    }
    byte type = buf.get();
    ByteBuffer body = buf.slice().limit(bodyLength);
    try {
      JournalRecord r = decodeBody(type, body, bodyLength);
      if (body.hasRemaining()) {
        throw new CorruptDataException("journal record of type " + type + " has trailing bytes");
      }
      return r;
    } catch (BufferUnderflowException e) {
      throw new CorruptDataException("journal record of type " + type + " is too short", e);
    }
  }

  private static JournalRecord decodeBody(byte type, ByteBuffer body, int bodyLength) {
    switch (type) {
      case BEGIN:
        return new JournalRecord.Begin(body.getLong(), body.getLong(),
            instant(body.getLong(), body.getInt()), pointType(body.get()));
      case BLOCK:
        if (bodyLength < 24) {
          throw new CorruptDataException("journal block record of " + bodyLength + " bytes is too short");
        }
        DiskId disk = getDisk(body);
        long offset = body.getLong();
        byte[] data = new byte[bodyLength - 24];
        body.get(data);
        return new JournalRecord.Block(disk, offset, data);
      case ZERO:
        return new JournalRecord.Zero(getDisk(body), body.getLong(), body.getLong());
      case COMMIT:
        return new JournalRecord.Commit(body.getLong(), body.getLong(), body.getInt());
      default:
        throw new CorruptDataException("journal record has unknown type " + type);
    }
  }

  private static io.replica.api.@org.jspecify.annotations.Nullable RecoveryPointType pointType(byte code) {
    RecoveryPointType[] types = RecoveryPointType.values();
    if (code < 0 || code > types.length) {
      throw new CorruptDataException("journal record holds an unknown recovery point type " + code);
    }
    return code == 0 ? null : types[code - 1];
  }

  private static Instant instant(long seconds, int nanos) {
    if (nanos < 0 || nanos > 999_999_999) {
      throw new CorruptDataException("journal record holds an invalid time");
    }
    return Instant.ofEpochSecond(seconds, nanos);
  }

  private static void putDisk(ByteBuffer buf, DiskId disk) {
    buf.putLong(disk.uuid().getMostSignificantBits()).putLong(disk.uuid().getLeastSignificantBits());
  }

  private static DiskId getDisk(ByteBuffer buf) {
    return new DiskId(new UUID(buf.getLong(), buf.getLong()));
  }

}
