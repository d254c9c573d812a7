package io.replica.storage.vhdx;

import io.replica.spi.storage.DiskStore;
import io.replica.spi.storage.StateStore;
import io.replica.spi.storage.StorageLocation;
import io.replica.spi.storage.StorageProvider;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Storage locations that are folders: the disks as VHDX files ({@link VhdxDiskStore}) and the
 * state documents and journals as plain files ({@link DirectoryStateStore}), side by side under
 * the same root, so one replica virtual machine is one folder. The location string is a path.
 *
 * <p>The provider owns the stores it hands out: {@link #close()} it after the engine that used them
 * is closed, and it closes every disk store (rule D2.21).
 */
public final class DirectoryStorageProvider implements StorageProvider, Closeable {

  private final Map<Path, StorageLocation> open = new HashMap<>();
  private final List<VhdxDiskStore> stores = new ArrayList<>();
  private boolean closed;

  /** A provider that creates folders on first use. */
  public DirectoryStorageProvider() {}

  /**
   * Opens the folder {@code location}, creating it if missing; the same folder gives the same
   * stores.
   *
   * @throws IllegalStateException if the provider is closed
   */
  @Override
  public synchronized StorageLocation open(String location) throws IOException {
    if (closed) {
      throw new IllegalStateException(
          "the folder storage provider is closed; build the engine on a new provider");
    }
    Path root = Path.of(Objects.requireNonNull(location, "location")).toAbsolutePath().normalize();
    StorageLocation existing = open.get(root);
    if (existing != null) {
      return existing;
    }
    VhdxDiskStore disks = new VhdxDiskStore(root);
    stores.add(disks);
    DirectoryStateStore state = new DirectoryStateStore(root);
    StorageLocation l = new StorageLocation() {
      @Override
      public DiskStore disks() {
        return disks;
      }

      @Override
      public StateStore state() {
        return state;
      }
    };
    open.put(root, l);
    return l;
  }

  /**
   * Closes every disk store handed out; disks still open then fail their I/O with a {@link
   * java.nio.channels.ClosedChannelException}. Closing again does nothing.
   *
   * @throws IOException the first failure to close a store, the others suppressed; every store is
   *     closed all the same
   */
  @Override
  public synchronized void close() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
    IOException first = null;
    for (VhdxDiskStore store : stores) {
      try {
        store.close();
      } catch (IOException e) {
        if (first == null) {
          first = e;
        } else {
          first.addSuppressed(e);
        }
      }
    }
    if (first != null) {
      throw first;
    }
  }
}
