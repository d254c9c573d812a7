package io.replica.storage.vhdx;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * The block allocation table, paged: 4 KiB pages (512 entries) are read on demand and kept in a
 * bounded LRU cache, so that a 512 MiB BAT never sits in memory. Changed pages stay pinned until
 * {@link #clean()} after they went through the log. Not thread-safe: the owner locks.
 */
final class Bat {

  static final int PAGE = 4096;
  static final int ENTRIES_PER_PAGE = PAGE / 8;

  static final int NOT_PRESENT = 0;
  static final int UNDEFINED = 1;
  static final int ZERO = 2;
  static final int UNMAPPED = 3;
  static final int FULLY_PRESENT = 6;
  static final int PARTIALLY_PRESENT = 7;
  static final int SB_PRESENT = 6;

  private final FileIo io;
  final long fileOffset;
  final long regionLength;
  private final int maxCachedPages;
  private final LinkedHashMap<Long, byte[]> cache;
  private final TreeMap<Long, byte[]> dirty = new TreeMap<>();

  Bat(FileIo io, long fileOffset, long regionLength, int maxCachedPages) {
    this.io = io;
    this.fileOffset = fileOffset;
    this.regionLength = regionLength;
    this.maxCachedPages = maxCachedPages;
    this.cache =
        new LinkedHashMap<>(16, 0.75f, true) {
          @Override
          protected boolean removeEldestEntry(Map.Entry<Long, byte[]> eldest) {
            return size() > Bat.this.maxCachedPages;
          }
        };
  }

  private byte[] page(long pageOffset) throws IOException {
    byte[] p = dirty.get(pageOffset);
    if (p == null) {
      p = cache.get(pageOffset);
      if (p == null) {
        p = io.read(pageOffset, PAGE);
        cache.put(pageOffset, p);
      }
    }
    return p;
  }

  /**
   * A 4 KiB metadata page outside the BAT (a sector bitmap page), pinned as changed: it goes
   * through the log with the BAT pages.
   */
  byte[] pageForUpdate(long pageOffset) throws IOException {
    byte[] p = page(pageOffset);
    cache.remove(pageOffset);
    dirty.put(pageOffset, p);
    return p;
  }

  /** Bytes of metadata pages (sector bitmaps), as changed so far. */
  byte[] bytes(long offset, int length) throws IOException {
    byte[] out = new byte[length];
    int done = 0;
    while (done < length) {
      long at = offset + done;
      long pageOffset = at - at % PAGE;
      int n = (int) Math.min(length - done, pageOffset + PAGE - at);
      System.arraycopy(page(pageOffset), (int) (at - pageOffset), out, done, n);
      done += n;
    }
    return out;
  }

  long get(long index) throws IOException {
    long at = index * 8;
    byte[] p = page(fileOffset + at - at % PAGE);
    return Le.u64(p, (int) (at % PAGE));
  }

  void set(long index, long entry) throws IOException {
    long at = index * 8;
    long pageOffset = fileOffset + at - at % PAGE;
    byte[] p = page(pageOffset);
    cache.remove(pageOffset);
    dirty.put(pageOffset, p);
    Le.put64(p, (int) (at % PAGE), entry);
  }

  /** File offset of the entry, for error messages. */
  long entryOffset(long index) {
    return fileOffset + index * 8;
  }

  int dirtyPages() {
    return dirty.size();
  }

  /** The changed pages by file offset; they stay pinned until {@link #clean()}. */
  TreeMap<Long, byte[]> dirty() {
    return dirty;
  }

  void clean() {
    for (Map.Entry<Long, byte[]> e : dirty.entrySet()) {
      cache.put(e.getKey(), e.getValue());
    }
    dirty.clear();
  }

  static int state(long entry) {
    return (int) (entry & 7);
  }

  static long offset(long entry) {
    return entry & 0xFFFFFFFFFFF00000L;
  }
}
