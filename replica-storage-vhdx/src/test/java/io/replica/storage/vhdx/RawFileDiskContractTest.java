package io.replica.storage.vhdx;

import io.replica.spi.storage.DiskSpec;
import io.replica.spi.storage.VirtualDisk;
import io.replica.testkit.contract.VirtualDiskContract;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.io.TempDir;

class RawFileDiskContractTest extends VirtualDiskContract<RawFileDisk> {

  @TempDir Path dir;

  @Override
  protected RawFileDisk createDisk(DiskSpec spec) throws IOException {
    return RawFileDisk.create(dir.resolve(UUID.randomUUID() + ".raw"), spec);
  }

  @Override
  protected Optional<VirtualDisk> openReadOnly(RawFileDisk disk) throws IOException {
    return Optional.of(RawFileDisk.open(disk.path(), disk.logicalSectorSizeBytes(), true));
  }
}
