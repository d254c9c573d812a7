package io.replica.core.tracking;

import io.replica.spi.storage.AppendLog;
import io.replica.spi.storage.StateStore;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.FileSystemException;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/** A state store in memory for core's own tests (the testkit's depends on core). */
final class MemoryStateStore implements StateStore {
  private final Map<String, byte[]> documents = new TreeMap<>();
  private final Map<String, ByteArrayOutputStream> logs = new TreeMap<>();
  private final Set<String> open = new HashSet<>();

  @Override
  public synchronized void write(String name, byte[] content) {
    documents.put(name, content.clone());
  }

  @Override
  public synchronized Optional<byte[]> read(String name) {
    return Optional.ofNullable(documents.get(name)).map(byte[]::clone);
  }

  @Override
  public synchronized AppendLog openLog(String name) throws IOException {
    if (!open.add(name)) {
      throw new FileSystemException(name, null, "log is already open");
    }
    ByteArrayOutputStream bytes = logs.computeIfAbsent(name, k -> new ByteArrayOutputStream());
    return new AppendLog() {
      @Override
      public long size() {
        synchronized (MemoryStateStore.this) {
          return bytes.size();
        }
      }

      @Override
      public void append(ByteBuffer src) {
        synchronized (MemoryStateStore.this) {
          byte[] b = new byte[src.remaining()];
          src.get(b);
          bytes.writeBytes(b);
        }
      }

      @Override
      public void sync() {}

      @Override
      public void read(long position, ByteBuffer dst) throws IOException {
        synchronized (MemoryStateStore.this) {
          byte[] all = bytes.toByteArray();
          if (position < 0 || position + dst.remaining() > all.length) {
            throw new EOFException(name + " ends at " + all.length);
          }
          dst.put(all, (int) position, dst.remaining());
        }
      }

      @Override
      public void truncate(long sizeBytes) {
        throw new UnsupportedOperationException("not needed by these tests");
      }

      @Override
      public void close() {
        synchronized (MemoryStateStore.this) {
          open.remove(name);
        }
      }
    };
  }

  @Override
  public synchronized void delete(String name) throws IOException {
    if (open.contains(name)) {
      throw new FileSystemException(name, null, "log is open");
    }
    documents.remove(name);
    logs.remove(name);
  }

  @Override
  public synchronized List<String> list(String prefix) {
    Set<String> names = new java.util.TreeSet<>(documents.keySet());
    names.addAll(logs.keySet());
    return names.stream().filter(n -> n.startsWith(prefix)).toList();
  }

  /** Logs in the store, open or not. */
  synchronized Set<String> logNames() {
    return Set.copyOf(logs.keySet());
  }
}
