package io.replica.storage.vhdx;

import io.replica.testkit.contract.DiskStoreContract;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;

class VhdxDiskStoreContractTest extends DiskStoreContract<VhdxDiskStore> {

  @TempDir Path dir;
  private int restarts;

  @Override
  protected VhdxDiskStore createStore() throws IOException {
    return new VhdxDiskStore(dir.resolve("store"));
  }

  /**
   * A process crash: the files as they are while the handles are still open (what reached the
   * operating system survives, nothing the store holds in memory does, and nothing is closed
   * cleanly), copied to a new folder on which a new store starts.
   */
  @Override
  protected Optional<VhdxDiskStore> crash(VhdxDiskStore store) throws IOException {
    Path image = dir.resolve("after-crash-" + ++restarts);
    List<Path> files;
    try (Stream<Path> walk = Files.walk(store.root())) {
      files = walk.filter(Files::isRegularFile).toList();
    }
    for (Path file : files) {
      Path copy = image.resolve(store.root().relativize(file).toString());
      Files.createDirectories(copy.getParent());
      Files.copy(file, copy);
    }
    return Optional.of(new VhdxDiskStore(image));
  }
}
