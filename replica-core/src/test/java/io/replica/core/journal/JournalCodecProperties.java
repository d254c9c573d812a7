package io.replica.core.journal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.longs;

import io.replica.api.CorruptDataException;
import io.replica.api.DiskId;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.SplittableRandom;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class JournalCodecProperties {

  static JournalRecord randomRecord(SplittableRandom r) {
    DiskId disk = DiskId.of(new UUID(r.nextLong(), r.nextLong()));
    switch (r.nextInt(4)) {
      case 0:
        io.replica.api.RecoveryPointType[] types = io.replica.api.RecoveryPointType.values();
        int t = r.nextInt(types.length + 1);
        return new JournalRecord.Begin(r.nextLong(), r.nextLong(),
            Instant.ofEpochSecond(r.nextLong(-1_000_000_000L, 1_000_000_000L), r.nextInt(1_000_000_000)),
            t == 0 ? null : types[t - 1]);
      case 1:
        byte[] data = new byte[r.nextInt(0, 9000)];
        r.nextBytes(data);
        return new JournalRecord.Block(disk, r.nextLong(), data);
      case 2:
        return new JournalRecord.Zero(disk, r.nextLong(), r.nextLong());
      default:
        return new JournalRecord.Commit(r.nextLong(), r.nextLong(), r.nextInt());
    }
  }

  static void assertSame(JournalRecord expected, JournalRecord actual) {
    if (expected instanceof JournalRecord.Block e) {
      JournalRecord.Block a = (JournalRecord.Block) actual;
      assertEquals(e.disk(), a.disk());
      assertEquals(e.offsetBytes(), a.offsetBytes());
      assertArrayEquals(e.data(), a.data());
    } else {
      assertEquals(expected, actual);
    }
  }

  @Test
  void everyRecordRoundTrips() {
    qt().withExamples(500).forAll(longs().all()).checkAssert(seed -> {
      JournalRecord record = randomRecord(new SplittableRandom(seed));
      ByteBuffer encoded = JournalCodec.encode(record);
      assertEquals(encoded.remaining(), JournalCodec.recordLength(encoded));
      assertSame(record, JournalCodec.decode(encoded));
    });
  }

  @Test
  void anyFlippedBitIsDetectedNeverMisread() {
    qt().withExamples(500).forAll(longs().all(), integers().allPositive()).checkAssert((seed, where) -> {
      JournalRecord record = randomRecord(new SplittableRandom(seed));
      ByteBuffer encoded = JournalCodec.encode(record);
      int bit = where % (encoded.remaining() * 8);
      byte[] bytes = encoded.array();
      bytes[bit / 8] ^= (byte) (1 << (bit % 8));
      // Whether the bit hit the length field, the type, the body or the checksum: rejected.
      assertThrows(CorruptDataException.class, () -> JournalCodec.decode(ByteBuffer.wrap(bytes)));
    });
  }

  @Test
  void lengthBeyondTheBoundIsRefusedBeforeAllocation() {
    ByteBuffer header = ByteBuffer.allocate(5).putInt(Integer.MAX_VALUE).put((byte) 2).flip();
    assertEquals(-1, JournalCodec.recordLength(header));
    ByteBuffer negative = ByteBuffer.allocate(5).putInt(-7).put((byte) 2).flip();
    assertEquals(-1, JournalCodec.recordLength(negative));
  }

  @Test
  void unknownTypeIsCorrupt() {
    ByteBuffer encoded = JournalCodec.encode(new JournalRecord.Commit(1, 2, 3));
    byte[] bytes = encoded.array();
    bytes[4] = 9;
    java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
    crc.update(bytes, 4, bytes.length - 8);
    ByteBuffer.wrap(bytes).putInt(bytes.length - 4, (int) crc.getValue());
    CorruptDataException e = assertThrows(CorruptDataException.class,
        () -> JournalCodec.decode(ByteBuffer.wrap(bytes)));
    assertTrue(e.getMessage().contains("unknown type 9"), e.getMessage());
  }
}
