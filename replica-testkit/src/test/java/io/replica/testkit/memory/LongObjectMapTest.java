package io.replica.testkit.memory;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.lists;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class LongObjectMapTest {

  /** Keys from a small range, so that puts and removes collide and probe chains wrap. */
  @Test
  void behavesLikeAHashMap() {
    qt().withExamples(500)
        .forAll(lists().of(integers().between(-40, 40)).ofSizeBetween(0, 300))
        .checkAssert(LongObjectMapTest::check);
  }

  private static void check(List<Integer> script) {
    LongObjectMap<String> map = new LongObjectMap<>();
    Map<Long, String> model = new HashMap<>();
    for (int step = 0; step < script.size(); step++) {
      int op = script.get(step);
      long key = Math.abs(op) * 1_000_003L; // spread, with negative hash inputs via multiplication
      if (op >= 0) {
        map.put(key, "v" + step);
        model.put(key, "v" + step);
      } else {
        assertEquals(model.remove(key) != null, map.remove(key));
      }
      assertEquals(model.size(), map.size());
    }
    for (Map.Entry<Long, String> entry : model.entrySet()) {
      assertEquals(entry.getValue(), map.get(entry.getKey()));
    }
    assertArrayEquals(
        new TreeMap<>(model).keySet().stream().mapToLong(Long::longValue).toArray(),
        map.sortedKeys());
  }

  @Test
  void growsAndShrinksWithManyKeys() {
    LongObjectMap<Long> map = new LongObjectMap<>();
    for (long k = 0; k < 100_000; k++) {
      map.put(k << 16, k);
    }
    for (long k = 0; k < 100_000; k += 2) {
      map.remove(k << 16);
    }
    assertEquals(50_000, map.size());
    for (long k = 0; k < 100_000; k++) {
      assertEquals(k % 2 == 0 ? null : Long.valueOf(k), map.get(k << 16));
    }
    map.clear();
    assertEquals(0, map.size());
    assertEquals(null, map.get(1L << 16));
  }

  @Test
  void rejectsNullValues() {
    assertThrows(NullPointerException.class, () -> new LongObjectMap<String>().put(1, null));
  }
}
