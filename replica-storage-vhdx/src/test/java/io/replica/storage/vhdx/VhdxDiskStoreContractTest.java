package io.replica.storage.vhdx;

import io.replica.testkit.contract.DiskStoreContract;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

class VhdxDiskStoreContractTest extends DiskStoreContract<VhdxDiskStore> {

  @TempDir Path dir;

  @Override
  protected VhdxDiskStore createStore() throws IOException {
    return new VhdxDiskStore(dir.resolve("store"));
  }
}
