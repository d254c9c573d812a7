package io.replica.core.tracking;

import java.util.Arrays;
import org.jspecify.annotations.Nullable;
import org.roaringbitmap.IntIterator;
import org.roaringbitmap.RoaringBitmap;

/**
 * A set of block numbers of one disk: a RoaringBitmap per 2^32 blocks, found by index rather than
 * by a tree lookup, because adding a block is on the guest's write path. A 64 TiB disk at 4 KiB
 * blocks needs four parts; sparse sets stay small.
 */
public final class BlockSet {
  private static final long LOW = 0xFFFF_FFFFL;
  private @Nullable RoaringBitmap[] parts;

  public BlockSet(long blockCount) {
    parts = new RoaringBitmap[(int) Math.max(1, (blockCount + LOW) >>> 32)];
  }

  private RoaringBitmap part(int index) {
    RoaringBitmap p = parts[index];
    if (p == null) {
      p = new RoaringBitmap();
      parts[index] = p;
    }
    return p;
  }

  public void add(long block) {
    part((int) (block >>> 32)).add((int) block);
  }

  /** Adds {@code [from, to)}. */
  public void addRange(long from, long to) {
    for (long start = from; start < to; ) {
      long end = Math.min(to, ((start >>> 32) + 1) << 32);
      part((int) (start >>> 32)).add(start & LOW, ((end - 1) & LOW) + 1);
      start = end;
    }
  }

  public boolean contains(long block) {
    RoaringBitmap p = parts[(int) (block >>> 32)];
    return p != null && p.contains((int) block);
  }

  public void addAll(BlockSet other) {
    for (int i = 0; i < parts.length; i++) {
      RoaringBitmap o = other.parts[i];
      if (o != null) {
        part(i).or(o);
      }
    }
  }

  /** Makes this set equal to {@code other}. */
  void clearAndAddAll(BlockSet other) {
    java.util.Arrays.fill(parts, null);
    addAll(other);
  }

  public long cardinality() {
    long n = 0;
    for (RoaringBitmap p : parts) {
      if (p != null) {
        n += p.getLongCardinality();
      }
    }
    return n;
  }

  /** The size of the union with {@code other}. */
  long unionCardinality(BlockSet other) {
    long n = 0;
    for (int i = 0; i < parts.length; i++) {
      RoaringBitmap a = parts[i];
      RoaringBitmap b = other.parts[i];
      n += a == null ? (b == null ? 0 : b.getLongCardinality())
          : b == null ? a.getLongCardinality() : RoaringBitmap.orCardinality(a, b);
    }
    return n;
  }

  /** Iterates the blocks in ascending order; the set must not change meanwhile. */
  public Cursor cursor() {
    return new Cursor();
  }

  /**
   * The set as byte ranges of a disk of {@code sizeBytes} with blocks of {@code 1 << shift} bytes:
   * consecutive blocks coalesced, as {@code [offset0, length0, offset1, length1, ...]}.
   */
  public long[] byteRanges(int shift, long sizeBytes) {
    long[] out = new long[16];
    int n = 0;
    Cursor c = cursor();
    long start = -1;
    long end = -1;
    while (true) {
      long b = c.hasNext() ? c.next() : -1;
      if (b >= 0 && b == end) {
        end++;
        continue;
      }
      if (start >= 0) {
        if (n + 2 > out.length) {
          out = Arrays.copyOf(out, out.length * 2);
        }
        long from = start << shift;
        out[n++] = from;
        out[n++] = Math.min(end << shift, sizeBytes) - from;
      }
      if (b < 0) {
        return Arrays.copyOf(out, n);
      }
      start = b;
      end = b + 1;
    }
  }

  @Override
  public String toString() {
    return "BlockSet" + Arrays.toString(parts);
  }

  /** Ascending iteration over a set that does not change. */
  public final class Cursor {
    private int part = -1;
    private @Nullable IntIterator it;

    public boolean hasNext() {
      while (it == null || !it.hasNext()) {
        if (++part >= parts.length) {
          return false;
        }
        RoaringBitmap p = parts[part];
        it = p == null ? null : p.getIntIterator();
      }
      return true;
    }

    public long next() {
      if (!hasNext()) {
        throw new java.util.NoSuchElementException();
      }
      return ((long) part << 32) | (it.next() & LOW);
    }
  }
}
