package io.replica.testkit.contract;

import io.replica.spi.storage.DiskSpec;
import io.replica.spi.storage.VirtualDisk;
import io.replica.testkit.contract.VirtualDiskContract;
import io.replica.testkit.memory.InMemoryVirtualDisk;
import java.io.IOException;
import java.util.Optional;

/** Runs the D1 rules on {@link InMemoryVirtualDisk}, including D1.5 through a second handle. */
class InMemoryVirtualDiskContractTest extends VirtualDiskContract<InMemoryVirtualDisk> {

  @Override
  protected InMemoryVirtualDisk createDisk(DiskSpec spec) {
    return InMemoryVirtualDisk.create(spec);
  }

  @Override
  protected Optional<VirtualDisk> openReadOnly(InMemoryVirtualDisk disk) throws IOException {
    return Optional.of(disk.openAnotherHandle(true));
  }
}
