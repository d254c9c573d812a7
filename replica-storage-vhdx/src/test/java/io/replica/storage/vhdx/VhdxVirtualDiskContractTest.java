package io.replica.storage.vhdx;

import io.replica.spi.storage.DiskSpec;
import io.replica.spi.storage.VirtualDisk;
import io.replica.testkit.contract.VirtualDiskContract;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.io.TempDir;

class VhdxVirtualDiskContractTest extends VirtualDiskContract<VhdxDisk> {

  @TempDir Path dir;

  @Override
  protected VhdxDisk createDisk(DiskSpec spec) throws IOException {
    // 1 MiB blocks, so that the kit's writes cross block boundaries.
    return VhdxDisk.create(dir.resolve(UUID.randomUUID() + ".vhdx"), spec, 1024 * 1024);
  }

  @Override
  protected Optional<VirtualDisk> openReadOnly(VhdxDisk disk) throws IOException {
    return Optional.of(VhdxDisk.open(disk.chain().get(0), true));
  }
}
