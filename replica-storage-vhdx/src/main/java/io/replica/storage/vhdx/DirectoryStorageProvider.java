package io.replica.storage.vhdx;

import io.replica.spi.storage.DiskStore;
import io.replica.spi.storage.StateStore;
import io.replica.spi.storage.StorageLocation;
import io.replica.spi.storage.StorageProvider;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Storage locations that are folders: the disks as VHDX files ({@link VhdxDiskStore}) and the
 * state documents and journals as plain files ({@link DirectoryStateStore}), side by side under
 * the same root, so one replica virtual machine is one folder. The location string is a path.
 */
public final class DirectoryStorageProvider implements StorageProvider {

  private final Map<Path, StorageLocation> open = new HashMap<>();

  /** A provider that creates folders on first use. */
  public DirectoryStorageProvider() {}

  /**
   * Opens the folder {@code location}, creating it if missing; the same folder gives the same
   * stores.
   */
  @Override
  public synchronized StorageLocation open(String location) throws IOException {
    Path root = Path.of(Objects.requireNonNull(location, "location")).toAbsolutePath().normalize();
    StorageLocation existing = open.get(root);
    if (existing != null) {
      return existing;
    }
    VhdxDiskStore disks = new VhdxDiskStore(root);
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
}
