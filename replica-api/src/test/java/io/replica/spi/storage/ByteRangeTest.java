package io.replica.spi.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.longs;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ByteRangeTest {

  @Test
  void endIsOffsetPlusLength() {
    assertEquals(4096, new ByteRange(0, 4096).endBytes());
    assertEquals(1536, new ByteRange(1024, 512).endBytes());
    assertEquals(Long.MAX_VALUE, new ByteRange(Long.MAX_VALUE - 1, 1).endBytes());
    assertEquals(Long.MAX_VALUE, new ByteRange(0, Long.MAX_VALUE).endBytes());
  }

  @ParameterizedTest
  @CsvSource({"-1, 512", "0, 0", "0, -1", "512, 0", "-9223372036854775808, 1",
      "9223372036854775807, 1", "1, 9223372036854775807", "4611686018427387904, 4611686018427387904"})
  void invalidRangesRejected(long offset, long length) {
    var e = assertThrows(IllegalArgumentException.class, () -> new ByteRange(offset, length));
    assertTrue(e.getMessage().contains("[" + offset + ", +" + length + ")"), e.getMessage());
  }

  @Test
  void everyAcceptedRangeHasAnEndAfterItsOffset() {
    qt().forAll(longs().all(), longs().all())
        .checkAssert((offset, length) -> {
          ByteRange r;
          try {
            r = new ByteRange(offset, length);
          } catch (IllegalArgumentException e) {
            return;
          }
          assertTrue(r.offsetBytes() >= 0);
          assertTrue(r.lengthBytes() > 0);
          assertTrue(r.endBytes() > r.offsetBytes(), r.toString());
        });
  }

  @Test
  void validRangesAreAccepted() {
    qt().forAll(longs().between(0, Long.MAX_VALUE / 2), longs().between(1, Long.MAX_VALUE / 2))
        .checkAssert((offset, length) -> assertEquals(offset + length, new ByteRange(offset, length).endBytes()));
  }
}
