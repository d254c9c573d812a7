package io.replica.storage.vhdx;

import io.replica.spi.storage.AppendLog;
import io.replica.spi.storage.StateStore;
import io.replica.spi.storage.StorageNames;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * A folder as a {@link StateStore}: document or log {@code a/b} is the file {@code <root>/a/b}.
 *
 * <p>A document is written to a hidden temporary file beside it, forced to disk, renamed over the
 * old one atomically and the folder forced, so a crash leaves the old or the new content. Logs are
 * files appended through a {@link FileChannel}; {@link AppendLog#sync()} forces them. It sits
 * beside {@link VhdxDiskStore} on the same folder (see {@link DirectoryStorageProvider}), so it
 * leaves out of {@link #list(String)} the VHDX files the disk store keeps there.
 */
public final class DirectoryStateStore implements StateStore {

  private static final String TEMP_PREFIX = ".tmp-";

  private final Path root;
  private final Set<Path> openLogs = new HashSet<>();

  /**
   * A store over {@code root}, created if missing.
   *
   * @throws IOException if the folder cannot be created
   */
  public DirectoryStateStore(Path root) throws IOException {
    Files.createDirectories(Objects.requireNonNull(root, "root"));
    this.root = root.toRealPath();
  }

  /** The folder that holds the documents and logs. */
  public Path root() {
    return root;
  }

  private Path file(String name) throws IOException {
    StorageNames.check(Objects.requireNonNull(name, "name"));
    Path p = root.resolve(name).normalize();
    if (!p.startsWith(root) || p.equals(root)) {
      throw new IllegalArgumentException(
          "storage name '" + name + "' resolves outside the state folder " + root);
    }
    Path dir = p.getParent();
    while (dir != null && !Files.exists(dir)) {
      dir = dir.getParent();
    }
    if (dir != null && !dir.toRealPath().startsWith(root)) {
      throw new IllegalArgumentException(
          "storage name '" + name + "' leads through a link outside the state folder " + root);
    }
    return p;
  }

  @Override
  public void write(String name, byte[] content) throws IOException {
    Objects.requireNonNull(content, "content");
    Path target = file(name);
    Files.createDirectories(target.getParent());
    Path temp = target.resolveSibling(TEMP_PREFIX + target.getFileName() + "-" + UUID.randomUUID());
    try {
      try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.CREATE_NEW,
          StandardOpenOption.WRITE)) {
        ByteBuffer b = ByteBuffer.wrap(content.clone());
        while (b.hasRemaining()) {
          ch.write(b);
        }
        ch.force(true);
      }
      Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE,
          StandardCopyOption.REPLACE_EXISTING);
    } finally {
      Files.deleteIfExists(temp);
    }
    forceDirectory(target.getParent());
  }

  private static void forceDirectory(Path dir) {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException | UnsupportedOperationException e) {
      // Some platforms cannot open a folder; the rename is still atomic there.
    }
  }

  @Override
  public Optional<byte[]> read(String name) throws IOException {
    Path p = file(name);
    try {
      return Optional.of(Files.readAllBytes(p));
    } catch (NoSuchFileException e) {
      return Optional.empty();
    }
  }

  @Override
  public AppendLog openLog(String name) throws IOException {
    Path p = file(name);
    synchronized (openLogs) {
      if (openLogs.contains(p)) {
        throw new FileSystemException(
            p.toString(), null, "log '" + name + "' is already open; close that handle first");
      }
      Files.createDirectories(p.getParent());
      FileChannel ch = FileChannel.open(p, StandardOpenOption.CREATE, StandardOpenOption.READ,
          StandardOpenOption.WRITE);
      openLogs.add(p);
      return new FileLog(p, ch);
    }
  }

  private final class FileLog implements AppendLog {
    private final Path path;
    private final FileChannel ch;
    private long size;
    private boolean closed;

    FileLog(Path path, FileChannel ch) throws IOException {
      this.path = path;
      this.ch = ch;
      this.size = ch.size();
    }

    private void ensureOpen() throws ClosedChannelException {
      if (closed) {
        throw new ClosedChannelException();
      }
    }

    @Override
    public synchronized long size() throws IOException {
      ensureOpen();
      return size;
    }

    @Override
    public synchronized void append(ByteBuffer src) throws IOException {
      ensureOpen();
      while (src.hasRemaining()) {
        size += ch.write(src, size);
      }
    }

    @Override
    public synchronized void sync() throws IOException {
      ensureOpen();
      ch.force(false);
    }

    @Override
    public synchronized void read(long position, ByteBuffer dst) throws IOException {
      ensureOpen();
      if (position < 0 || position > size || dst.remaining() > size - position) {
        throw new EOFException(
            "log '" + path + "' holds " + size + " bytes; cannot read " + dst.remaining()
                + " bytes at " + position);
      }
      long pos = position;
      while (dst.hasRemaining()) {
        int n = ch.read(dst, pos);
        if (n < 0) {
          throw new EOFException("log '" + path + "' ended early at " + pos);
        }
        pos += n;
      }
    }

    @Override
    public synchronized void truncate(long sizeBytes) throws IOException {
      ensureOpen();
      if (sizeBytes < 0 || sizeBytes > size) {
        throw new IllegalArgumentException(
            "cannot truncate log '" + path + "' of " + size + " bytes to " + sizeBytes);
      }
      ch.truncate(sizeBytes);
      ch.force(false);
      size = sizeBytes;
    }

    @Override
    public synchronized void close() throws IOException {
      if (closed) {
        return;
      }
      closed = true;
      try {
        ch.close();
      } finally {
        synchronized (openLogs) {
          openLogs.remove(path);
        }
      }
    }
  }

  @Override
  public void delete(String name) throws IOException {
    Path p = file(name);
    synchronized (openLogs) {
      if (openLogs.contains(p)) {
        throw new FileSystemException(
            p.toString(), null, "log '" + name + "' is open; close it before deleting");
      }
      if (Files.isRegularFile(p)) {
        Files.delete(p);
      }
    }
  }

  @Override
  public List<String> list(String prefix) throws IOException {
    Objects.requireNonNull(prefix, "prefix");
    TreeSet<String> names = new TreeSet<>();
    try (Stream<Path> files = Files.walk(root)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        String fileName = f.getFileName().toString();
        if (fileName.endsWith(Vhdx.EXTENSION) || fileName.endsWith(VhdxDiskStore.CHILD_EXTENSION)
            || !Files.isRegularFile(f)) {
          continue;
        }
        String name =
            root.relativize(f).toString().replace(f.getFileSystem().getSeparator(), "/");
        if (!name.startsWith(prefix)) {
          continue;
        }
        try {
          StorageNames.check(name);
          names.add(name);
        } catch (IllegalArgumentException notOurs) {
          // temporary files and files the store did not make
        }
      }
    }
    return new ArrayList<>(names);
  }
}
