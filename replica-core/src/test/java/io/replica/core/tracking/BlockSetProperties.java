package io.replica.core.tracking;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.longs;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** BlockSet against a TreeSet model, across the 2^32 boundaries of a 64 TiB disk's block numbers. */
class BlockSetProperties {
  private static final long BLOCKS = 64L << 40 >>> 12;

  @Test
  void behavesLikeASortedSet() {
    qt().withExamples(300).forAll(longs().all()).checkAssert(seed -> {
      SplittableRandom r = new SplittableRandom(seed);
      BlockSet a = new BlockSet(BLOCKS);
      BlockSet b = new BlockSet(BLOCKS);
      TreeSet<Long> ma = new TreeSet<>();
      TreeSet<Long> mb = new TreeSet<>();
      for (int i = 0; i < 200; i++) {
        // Cluster near a part boundary so ranges cross it.
        long base = (r.nextLong(4) << 32) - 50 + r.nextLong(100);
        long block = Math.max(0, Math.min(BLOCKS - 1, base));
        BlockSet s = r.nextBoolean() ? a : b;
        TreeSet<Long> m = s == a ? ma : mb;
        if (r.nextInt(4) == 0) {
          long end = Math.min(BLOCKS, block + 1 + r.nextInt(120));
          s.addRange(block, end);
          for (long x = block; x < end; x++) {
            m.add(x);
          }
        } else {
          s.add(block);
          m.add(block);
        }
      }
      assertEquals(ma.size(), a.cardinality());
      TreeSet<Long> union = new TreeSet<>(ma);
      union.addAll(mb);
      assertEquals(union.size(), a.unionCardinality(b));
      for (long x : mb) {
        assertEquals(ma.contains(x), a.contains(x));
      }
      a.addAll(b);
      List<Long> seen = new ArrayList<>();
      BlockSet.Cursor c = a.cursor();
      while (c.hasNext()) {
        seen.add(c.next());
      }
      assertEquals(new ArrayList<>(union), seen);
      assertFalse(c.hasNext());
    });
  }
}
