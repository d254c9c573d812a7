package io.replica.spi.storage;

import java.io.IOException;

/**
 * Turns a storage location named in the replica server settings (a path, a volume name, whatever
 * the embedder uses) into the stores behind it.
 */
@FunctionalInterface
public interface StorageProvider {

  /**
   * Opens the location; repeated calls with the same location may return the same instance.
   *
   * @throws IOException if the location cannot be used
   */
  StorageLocation open(String location) throws IOException;
}
