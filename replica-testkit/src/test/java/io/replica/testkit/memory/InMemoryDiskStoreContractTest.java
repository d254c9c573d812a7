package io.replica.testkit.memory;

import io.replica.testkit.contract.DiskStoreContract;

/** Runs the D2 rules, differencing disks included, on {@link InMemoryDiskStore}. */
class InMemoryDiskStoreContractTest extends DiskStoreContract<InMemoryDiskStore> {

  @Override
  protected InMemoryDiskStore createStore() {
    return new InMemoryDiskStore();
  }
}
