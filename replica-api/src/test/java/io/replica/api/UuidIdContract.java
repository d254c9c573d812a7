package io.replica.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.longs;

import java.util.Locale;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The rules both UUID-based ids follow: canonical text only, a round trip through text, order and
 * equality of the UUID, and errors that name the text and what was expected.
 */
abstract class UuidIdContract<T extends Comparable<T>> {

  /** The id type's parse. */
  abstract T parse(String text);

  /** The id type's of. */
  abstract T of(UUID uuid);

  abstract UUID uuid(T id);

  /** What a parse error says the text is not, e.g. "virtual disk id". */
  abstract String kind();

  private static final String CANONICAL = "3f0c8a34-1b2c-4d5e-8f90-a1b2c3d4e5f6";

  @Test
  void parsesCanonicalForm() {
    T id = parse(CANONICAL);
    assertEquals(UUID.fromString(CANONICAL), uuid(id));
    assertEquals(CANONICAL, id.toString());
    assertEquals(of(UUID.fromString(CANONICAL)), id);
  }

  @Test
  void upperCaseHexIsTheSameId() {
    assertEquals(parse(CANONICAL), parse(CANONICAL.toUpperCase(Locale.ROOT)));
    assertEquals(CANONICAL, parse(CANONICAL.toUpperCase(Locale.ROOT)).toString());
  }

  @Test
  void toStringParseRoundTrip() {
    qt().forAll(longs().all(), longs().all())
        .checkAssert((hi, lo) -> {
          T id = of(new UUID(hi, lo));
          String text = id.toString();
          assertEquals(id, parse(text));
          assertEquals(text, parse(text).toString());
          assertEquals(36, text.length());
          assertEquals(new UUID(hi, lo).toString(), text);
        });
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "vm1", "not-a-uuid", "3f0c8a34-1b2c-4d5e-8f90", "3f0c8a341b2c4d5e8f90a1b2c3d4e5f6",
      "3f0c8a34-1b2c-4d5e-8f90-a1b2c3d4e5fg", " 3f0c8a34-1b2c-4d5e-8f90-a1b2c3d4e5f6",
      "3f0c8a34-1b2c-4d5e-8f90-a1b2c3d4e5f6 ", "{3f0c8a34-1b2c-4d5e-8f90-a1b2c3d4e5f6}",
      "3f0c8a34-1b2c-4d5e-8f90-a1b2c3d4e5f6a",
      // short and signed forms that UUID.fromString takes but that are not canonical
      "1-1-1-1-1", "+1-+1-1-1-1", "0000000000001-1-1-1-1", "3f0c8a34-1b2c-4d5e-08f90-1b2c3d4e5f6"})
  void badTextRejectedSayingWhatWasExpected(String text) {
    var e = assertThrows(IllegalArgumentException.class, () -> parse(text));
    String m = e.getMessage();
    assertTrue(m.contains("'" + text + "'"), "names the text: " + m);
    assertTrue(m.contains("is not a " + kind()), "names what it is not: " + m);
    assertTrue(m.contains("expected a UUID"), "says what was expected: " + m);
  }

  @Test
  void nullRejected() {
    assertThrows(NullPointerException.class, () -> parse(null));
    assertThrows(NullPointerException.class, () -> of(null));
  }

  @Test
  void orderFollowsTheUuid() {
    qt().forAll(longs().all(), longs().all(), longs().all())
        .checkAssert((hi, lo1, lo2) -> {
          UUID a = new UUID(hi, lo1);
          UUID b = new UUID(hi, lo2);
          assertEquals(Integer.signum(a.compareTo(b)), Integer.signum(of(a).compareTo(of(b))));
        });
  }

  @Test
  void valueEquality() {
    assertEquals(of(new UUID(1, 2)), of(new UUID(1, 2)));
    assertEquals(of(new UUID(1, 2)).hashCode(), of(new UUID(1, 2)).hashCode());
    assertNotEquals(of(new UUID(1, 2)), of(new UUID(1, 3)));
  }
}
