package io.replica.testkit.memory;

import io.replica.spi.storage.AppendLog;
import io.replica.spi.storage.StateStore;
import io.replica.spi.storage.StorageNames;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.FileSystemException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Supplier;
import java.util.random.RandomGenerator;
import org.jspecify.annotations.Nullable;

/**
 * A {@link StateStore} in memory, with the crash behaviour of a real one, so that tests can check
 * that the engine's journal and documents recover.
 *
 * <ul>
 *   <li>A document write replaces the whole document atomically and durably: a crash never changes
 *       documents.
 *   <li>A log's appended bytes are readable at once and durable only after {@link AppendLog#sync()}:
 *       {@link #simulateCrash()} cuts every log back to what was synced, and
 *       {@link #simulateCrash(RandomGenerator)} keeps a random prefix of the unsynced tail as well,
 *       which is all a real crash promises.
 *   <li>A truncate is durable at once (the synced length shrinks with it).
 * </ul>
 *
 * <p>Documents and logs share one namespace: a name is either a document or a log, and using it as
 * the other fails with {@link FileSystemException}. Only one handle per log may be open; a crash
 * closes them all. Safe for concurrent use.
 */
public final class InMemoryStateStore implements StateStore {

  private final String label;
  private final Object lock = new Object();
  private final TreeMap<String, byte[]> documents = new TreeMap<>(); // guarded by lock
  private final TreeMap<String, LogContent> logs = new TreeMap<>(); // guarded by lock
  private final StorageFaults writeFaults = new StorageFaults();
  private final StorageFaults syncFaults = new StorageFaults();

  /** An empty store. */
  public InMemoryStateStore() {
    this("in-memory state store");
  }

  InMemoryStateStore(String label) {
    this.label = label;
  }

  // ---------------------------------------------------------------- StateStore

  /**
   * {@inheritDoc}
   *
   * @throws FileSystemException if {@code name} is a log
   */
  @Override
  public void write(String name, byte[] content) throws IOException {
    StorageNames.check(Objects.requireNonNull(name, "name"));
    Objects.requireNonNull(content, "content");
    byte[] copy = content.clone();
    synchronized (lock) {
      if (logs.containsKey(name)) {
        throw kindClash(name, "log", "written as a document");
      }
      IOException fault = writeFaults.poll();
      if (fault != null) {
        throw fault;
      }
      documents.put(name, copy);
    }
  }

  /**
   * {@inheritDoc}
   *
   * @throws FileSystemException if {@code name} is a log
   */
  @Override
  public Optional<byte[]> read(String name) throws IOException {
    StorageNames.check(Objects.requireNonNull(name, "name"));
    synchronized (lock) {
      if (logs.containsKey(name)) {
        throw kindClash(name, "log", "read as a document");
      }
      byte[] content = documents.get(name);
      return content == null ? Optional.empty() : Optional.of(content.clone());
    }
  }

  /**
   * {@inheritDoc}
   *
   * @throws FileSystemException if the log is open already, or {@code name} is a document
   */
  @Override
  public AppendLog openLog(String name) throws IOException {
    StorageNames.check(Objects.requireNonNull(name, "name"));
    synchronized (lock) {
      if (documents.containsKey(name)) {
        throw kindClash(name, "document", "opened as a log");
      }
      LogContent log = logs.computeIfAbsent(name, LogContent::new);
      if (log.handle != null) {
        throw new FileSystemException(name, null,
            "the log is already open in the " + label + " (only one handle per log); close the"
                + " other handle first");
      }
      log.handle = new LogHandle(log);
      return log.handle;
    }
  }

  /**
   * {@inheritDoc}
   *
   * @throws FileSystemException if {@code name} is a log that is open
   */
  @Override
  public void delete(String name) throws IOException {
    StorageNames.check(Objects.requireNonNull(name, "name"));
    synchronized (lock) {
      LogContent log = logs.get(name);
      if (log != null && log.handle != null) {
        throw new FileSystemException(name, null,
            "the log is open in the " + label + "; close its handle before deleting it");
      }
      logs.remove(name);
      documents.remove(name);
    }
  }

  /** {@inheritDoc} The prefix is matched as plain text; it need not be a valid name. */
  @Override
  public List<String> list(String prefix) {
    Objects.requireNonNull(prefix, "prefix");
    synchronized (lock) {
      TreeSet<String> names = new TreeSet<>();
      for (String name : documents.tailMap(prefix).keySet()) {
        if (!name.startsWith(prefix)) {
          break;
        }
        names.add(name);
      }
      for (String name : logs.tailMap(prefix).keySet()) {
        if (!name.startsWith(prefix)) {
          break;
        }
        names.add(name);
      }
      return List.copyOf(names);
    }
  }

  // ---------------------------------------------------------------- test controls

  /**
   * Simulates a crash of the host: every log is cut back to the bytes that were synced, and every
   * open log handle is closed. Documents are unchanged.
   */
  public void simulateCrash() {
    crash(null);
  }

  /**
   * Like {@link #simulateCrash()}, but each log keeps a random prefix of its unsynced tail, chosen
   * by {@code torn} (logs visited by name, so the same generator state gives the same outcome).
   */
  public void simulateCrash(RandomGenerator torn) {
    crash(Objects.requireNonNull(torn, "torn"));
  }

  /**
   * Checks that every log handle was closed.
   *
   * @throws IllegalStateException listing each open log, with the stacks that opened them
   */
  public void checkNoOpenHandles() {
    StorageLeaks.check("the " + label, openings());
  }

  /**
   * Makes the next {@code count} document writes and log appends fail with an {@link IOException}
   * carrying {@code message}, changing nothing. Zero disarms.
   *
   * @throws IllegalArgumentException if {@code count} is negative
   */
  public void failNextWrites(int count, String message) {
    writeFaults.failNext(count, StorageFaults.withMessage(message));
  }

  /** Like {@link #failNextWrites(int, String)} with exceptions from {@code failure}. */
  public void failNextWrites(int count, Supplier<? extends IOException> failure) {
    writeFaults.failNext(count, failure);
  }

  /**
   * Makes the next {@code count} log syncs fail with {@code message}; a failed sync makes nothing
   * durable. Zero disarms.
   */
  public void failNextSyncs(int count, String message) {
    syncFaults.failNext(count, StorageFaults.withMessage(message));
  }

  /** Like {@link #failNextSyncs(int, String)} with exceptions from {@code failure}. */
  public void failNextSyncs(int count, Supplier<? extends IOException> failure) {
    syncFaults.failNext(count, failure);
  }

  /** The number of bytes of a log that would survive a crash now, or empty if there is no such log. */
  public Optional<Long> syncedSize(String name) {
    Objects.requireNonNull(name, "name");
    synchronized (lock) {
      LogContent log = logs.get(name);
      return log == null ? Optional.empty() : Optional.of(log.synced);
    }
  }

  @Override
  public String toString() {
    synchronized (lock) {
      return "InMemoryStateStore[" + label + ", " + documents.size() + " documents, " + logs.size()
          + " logs]";
    }
  }

  // ---------------------------------------------------------------- package-private

  List<StorageLeaks.OpenedAt> openings() {
    synchronized (lock) {
      List<StorageLeaks.OpenedAt> result = new ArrayList<>();
      for (LogContent log : logs.values()) {
        if (log.handle != null) {
          result.add(log.handle.openedAt);
        }
      }
      return result;
    }
  }

  private void crash(@Nullable RandomGenerator torn) {
    synchronized (lock) {
      for (Map.Entry<String, LogContent> entry : logs.entrySet()) {
        LogContent log = entry.getValue();
        long keep = log.synced;
        long unsynced = log.size - log.synced;
        if (torn != null && unsynced > 0) {
          keep += torn.nextLong(unsynced + 1);
        }
        log.truncateTo(keep);
        log.synced = keep;
        if (log.handle != null) {
          log.handle.closedBecause = "was invalidated by a simulated crash of the " + label;
          log.handle = null;
        }
      }
    }
  }

  private FileSystemException kindClash(String name, String kind, String use) {
    return new FileSystemException(name, null,
        "the name is a " + kind + " in the " + label + " and cannot be " + use
            + "; use another name");
  }

  /** The bytes of one log, in pages of 64 KiB so that a long journal needs no huge array. */
  private static final class LogContent {
    static final int PAGE_SHIFT = 16;
    static final int PAGE_BYTES = 1 << PAGE_SHIFT;
    static final int PAGE_MASK = PAGE_BYTES - 1;

    final String name;
    final List<byte[]> pages = new ArrayList<>();
    long size;
    long synced;
    @Nullable LogHandle handle;

    LogContent(String name) {
      this.name = name;
    }

    void append(ByteBuffer src) {
      while (src.hasRemaining()) {
        int page = (int) (size >>> PAGE_SHIFT);
        int within = (int) (size & PAGE_MASK);
        if (page == pages.size()) {
          pages.add(new byte[PAGE_BYTES]);
        }
        int n = Math.min(src.remaining(), PAGE_BYTES - within);
        src.get(pages.get(page), within, n);
        size += n;
      }
    }

    void read(long position, ByteBuffer dst) {
      long at = position;
      while (dst.hasRemaining()) {
        int within = (int) (at & PAGE_MASK);
        int n = Math.min(dst.remaining(), PAGE_BYTES - within);
        dst.put(pages.get((int) (at >>> PAGE_SHIFT)), within, n);
        at += n;
      }
    }

    void truncateTo(long newSize) {
      long keepPages = (newSize + PAGE_MASK) >>> PAGE_SHIFT;
      while (pages.size() > keepPages) {
        pages.remove(pages.size() - 1);
      }
      size = newSize;
    }
  }

  /** The one open handle of a log. */
  private final class LogHandle implements AppendLog {
    final LogContent log;
    final StorageLeaks.OpenedAt openedAt;
    @Nullable String closedBecause; // guarded by the store's lock

    LogHandle(LogContent log) {
      this.log = log;
      this.openedAt = new StorageLeaks.OpenedAt("log '" + log.name + "' was opened here");
    }

    @Override
    public long size() throws IOException {
      synchronized (lock) {
        checkOpen();
        return log.size;
      }
    }

    @Override
    public void append(ByteBuffer src) throws IOException {
      Objects.requireNonNull(src, "src");
      synchronized (lock) {
        checkOpen();
        IOException fault = writeFaults.poll();
        if (fault != null) {
          throw fault;
        }
        log.append(src);
      }
    }

    @Override
    public void sync() throws IOException {
      synchronized (lock) {
        checkOpen();
        IOException fault = syncFaults.poll();
        if (fault != null) {
          throw fault;
        }
        log.synced = log.size;
      }
    }

    @Override
    public void read(long position, ByteBuffer dst) throws IOException {
      Objects.requireNonNull(dst, "dst");
      synchronized (lock) {
        checkOpen();
        if (position < 0) {
          throw new IllegalArgumentException(
              "cannot read log '" + log.name + "' at negative position " + position);
        }
        if (dst.remaining() > log.size - position) {
          throw new EOFException(
              "log '" + log.name + "' holds " + log.size + " bytes; cannot read " + dst.remaining()
                  + " bytes at position " + position + " (nothing was read)");
        }
        log.read(position, dst);
      }
    }

    /**
     * {@inheritDoc}
     *
     * @throws IllegalArgumentException if {@code sizeBytes} is negative or larger than the log
     */
    @Override
    public void truncate(long sizeBytes) throws IOException {
      synchronized (lock) {
        checkOpen();
        if (sizeBytes < 0 || sizeBytes > log.size) {
          throw new IllegalArgumentException(
              "cannot truncate log '" + log.name + "' of " + log.size + " bytes to " + sizeBytes
                  + " bytes; pass a size from 0 to the current size");
        }
        log.truncateTo(sizeBytes);
        log.synced = Math.min(log.synced, sizeBytes);
      }
    }

    /** Closes the handle; the log keeps its bytes (unsynced ones too, until a crash). */
    @Override
    public void close() {
      synchronized (lock) {
        if (closedBecause == null) {
          closedBecause = "was closed";
          log.handle = null;
        }
      }
    }

    private void checkOpen() throws StorageClosedException {
      if (closedBecause != null) {
        throw new StorageClosedException(
            "log '" + log.name + "': this handle " + closedBecause + "; open the log again");
      }
    }

    @Override
    public String toString() {
      return "AppendLog['" + log.name + "']";
    }
  }
}
