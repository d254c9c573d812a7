package io.replica.storage.vhdx;

import io.replica.testkit.contract.StateStoreContract;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.io.TempDir;

class DirectoryStateStoreContractTest extends StateStoreContract<DirectoryStateStore> {

  @TempDir Path dir;

  @Override
  protected DirectoryStateStore createStore() throws IOException {
    return new DirectoryStateStore(dir.resolve("state"));
  }

  @Override
  protected Optional<DirectoryStateStore> reopen(DirectoryStateStore store) throws IOException {
    return Optional.of(new DirectoryStateStore(store.root()));
  }
}
