package io.replica.testkit.contract;

import io.replica.spi.storage.AppendLog;
import io.replica.spi.storage.StateStore;
import io.replica.spi.storage.StorageNames;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.file.FileSystemException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The smallest correct {@link StateStore}: sorted maps on a shared {@link Medium}, so that {@link
 * #restarted()} can play a crash and restart in which each log keeps only what was synced.
 */
final class RefStateStore implements StateStore {

  /** What survives a restart; also the lock. */
  static final class Medium {
    final TreeMap<String, byte[]> documents = new TreeMap<>();
    final TreeMap<String, LogData> logs = new TreeMap<>();
  }

  private static final class LogData {
    byte[] bytes = new byte[0];
    int size;
    int synced;
    boolean open;
  }

  private final Medium medium;

  RefStateStore() {
    this(new Medium());
  }

  private RefStateStore(Medium medium) {
    this.medium = medium;
  }

  /** A new store on this medium after a crash: every log is cut back to what was synced. */
  RefStateStore restarted() {
    synchronized (medium) {
      for (LogData log : medium.logs.values()) {
        log.size = log.synced;
        log.open = false;
      }
    }
    return new RefStateStore(medium);
  }

  /** Like {@link #restarted()}, but the documents are lost: the broken durability of D3.4. */
  RefStateStore restartedWithoutDocuments() {
    synchronized (medium) {
      medium.documents.clear();
    }
    return restarted();
  }

  @Override
  public void write(String name, byte[] content) {
    StorageNames.check(name);
    synchronized (medium) {
      medium.documents.put(name, content.clone());
    }
  }

  @Override
  public Optional<byte[]> read(String name) {
    StorageNames.check(name);
    synchronized (medium) {
      return Optional.ofNullable(medium.documents.get(name)).map(byte[]::clone);
    }
  }

  @Override
  public AppendLog openLog(String name) throws FileSystemException {
    StorageNames.check(name);
    synchronized (medium) {
      LogData data = medium.logs.computeIfAbsent(name, n -> new LogData());
      if (data.open) {
        throw new FileSystemException(name, null, "the log is already open");
      }
      data.open = true;
      return new RefLog(data);
    }
  }

  @Override
  public void delete(String name) throws FileSystemException {
    StorageNames.check(name);
    synchronized (medium) {
      LogData log = medium.logs.get(name);
      if (log != null && log.open) {
        throw new FileSystemException(name, null, "the log is open");
      }
      medium.logs.remove(name);
      medium.documents.remove(name);
    }
  }

  @Override
  public List<String> list(String prefix) {
    Objects.requireNonNull(prefix, "prefix");
    synchronized (medium) {
      TreeSet<String> names = new TreeSet<>(medium.documents.keySet());
      names.addAll(medium.logs.keySet());
      List<String> matching = new ArrayList<>();
      for (String name : names) {
        if (name.startsWith(prefix)) {
          matching.add(name);
        }
      }
      return matching;
    }
  }

  private final class RefLog implements AppendLog {
    private final LogData data;
    private boolean closed;

    RefLog(LogData data) {
      this.data = data;
    }

    @Override
    public long size() throws IOException {
      synchronized (medium) {
        checkOpen();
        return data.size;
      }
    }

    @Override
    public void append(ByteBuffer src) throws IOException {
      synchronized (medium) {
        checkOpen();
        int n = src.remaining();
        if (data.bytes.length < data.size + n) {
          data.bytes = Arrays.copyOf(data.bytes, Math.max(2 * data.bytes.length, data.size + n));
        }
        src.get(data.bytes, data.size, n);
        data.size += n;
      }
    }

    @Override
    public void sync() throws IOException {
      synchronized (medium) {
        checkOpen();
        data.synced = data.size;
      }
    }

    @Override
    public void read(long position, ByteBuffer dst) throws IOException {
      synchronized (medium) {
        checkOpen();
        if (position < 0) {
          throw new IllegalArgumentException("negative position " + position);
        }
        if (position + dst.remaining() > data.size) {
          throw new EOFException(
              "read of " + dst.remaining() + " bytes at " + position + " passes the end "
                  + data.size);
        }
        dst.put(data.bytes, (int) position, dst.remaining());
      }
    }

    @Override
    public void truncate(long sizeBytes) throws IOException {
      synchronized (medium) {
        checkOpen();
        if (sizeBytes < 0 || sizeBytes > data.size) {
          throw new IllegalArgumentException("cannot truncate to " + sizeBytes);
        }
        data.size = (int) sizeBytes;
        data.synced = Math.min(data.synced, data.size);
      }
    }

    @Override
    public void close() {
      synchronized (medium) {
        if (!closed) {
          closed = true;
          data.open = false;
        }
      }
    }

    private void checkOpen() throws ClosedChannelException {
      if (closed) {
        throw new ClosedChannelException();
      }
    }
  }
}
