package io.replica.testkit.contract;

import io.replica.testkit.contract.DiskStoreContract;
import io.replica.testkit.memory.InMemoryDiskStore;
import java.util.Optional;
import java.util.SplittableRandom;

/** Runs the D2 rules, differencing disks and crashes included, on {@link InMemoryDiskStore}. */
class InMemoryDiskStoreContractTest extends DiskStoreContract<InMemoryDiskStore> {

  @Override
  protected InMemoryDiskStore createStore() {
    return new InMemoryDiskStore();
  }

  @Override
  protected Optional<InMemoryDiskStore> crash(InMemoryDiskStore store) {
    // Unflushed sectors survive or not by a coin flip, so D2.19 also sees torn writes.
    store.simulateCrash(new SplittableRandom(19));
    return Optional.of(store);
  }
}
