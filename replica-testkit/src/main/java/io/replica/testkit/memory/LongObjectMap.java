package io.replica.testkit.memory;

import java.util.Arrays;
import java.util.function.Consumer;

/**
 * An open-addressing hash map from {@code long} to non-null values, without boxing, so that the
 * in-memory disks can look up a chunk on every write without allocating. Not thread-safe: the
 * owner's lock guards it.
 */
final class LongObjectMap<V> {
  private static final int MIN_CAPACITY = 16;

  private long[] keys;
  private Object[] values; // null marks a free slot
  private int size;
  private int mask;

  LongObjectMap() {
    keys = new long[MIN_CAPACITY];
    values = new Object[MIN_CAPACITY];
    mask = MIN_CAPACITY - 1;
  }

  int size() {
    return size;
  }

  @SuppressWarnings("unchecked")
  V get(long key) {
    int i = slot(key);
    Object value;
    while ((value = values[i]) != null) {
      if (keys[i] == key) {
        return (V) value;
      }
      i = (i + 1) & mask;
    }
    return null;
  }

  /** Maps {@code key} to {@code value}, replacing any earlier value. */
  void put(long key, V value) {
    if (value == null) {
      throw new NullPointerException("value");
    }
    int i = slot(key);
    while (values[i] != null) {
      if (keys[i] == key) {
        values[i] = value;
        return;
      }
      i = (i + 1) & mask;
    }
    keys[i] = key;
    values[i] = value;
    size++;
    if (size * 2 > values.length) {
      resize(values.length * 2);
    }
  }

  /** Removes {@code key}; returns whether it was present. */
  boolean remove(long key) {
    int i = slot(key);
    while (values[i] != null) {
      if (keys[i] == key) {
        deleteAt(i);
        return true;
      }
      i = (i + 1) & mask;
    }
    return false;
  }

  /** The keys, ascending. */
  long[] sortedKeys() {
    long[] result = new long[size];
    int n = 0;
    for (int i = 0; i < values.length; i++) {
      if (values[i] != null) {
        result[n++] = keys[i];
      }
    }
    Arrays.sort(result);
    return result;
  }

  @SuppressWarnings("unchecked")
  void forEachValue(Consumer<? super V> action) {
    for (Object value : values) {
      if (value != null) {
        action.accept((V) value);
      }
    }
  }

  void clear() {
    keys = new long[MIN_CAPACITY];
    values = new Object[MIN_CAPACITY];
    mask = MIN_CAPACITY - 1;
    size = 0;
  }

  private int slot(long key) {
    long h = key * 0x9E3779B97F4A7C15L;
    return (int) (h ^ (h >>> 32)) & mask;
  }

  /** Backward-shift deletion: keeps every probe chain unbroken without tombstones. */
  private void deleteAt(int hole) {
    values[hole] = null;
    size--;
    int j = hole;
    while (true) {
      j = (j + 1) & mask;
      if (values[j] == null) {
        return;
      }
      int home = slot(keys[j]);
      // The entry at j may fill the hole if the hole lies on its probe path from home to j.
      if (((hole - home) & mask) < ((j - home) & mask)) {
        keys[hole] = keys[j];
        values[hole] = values[j];
        values[j] = null;
        hole = j;
      }
    }
  }

  private void resize(int capacity) {
    long[] oldKeys = keys;
    Object[] oldValues = values;
    keys = new long[capacity];
    values = new Object[capacity];
    mask = capacity - 1;
    for (int i = 0; i < oldValues.length; i++) {
      if (oldValues[i] != null) {
        int j = slot(oldKeys[i]);
        while (values[j] != null) {
          j = (j + 1) & mask;
        }
        keys[j] = oldKeys[i];
        values[j] = oldValues[i];
      }
    }
  }
}
