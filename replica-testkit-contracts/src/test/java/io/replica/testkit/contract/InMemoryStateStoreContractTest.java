package io.replica.testkit.contract;

import io.replica.testkit.contract.StateStoreContract;
import io.replica.testkit.memory.InMemoryStateStore;
import java.util.Optional;

/**
 * Runs the D3 rules on {@link InMemoryStateStore}. Its medium is the store object itself, so a
 * restart for D3.4 and D3.11 is {@link InMemoryStateStore#simulateCrash()} on the same store, which
 * keeps only what was synced.
 */
class InMemoryStateStoreContractTest extends StateStoreContract<InMemoryStateStore> {

  @Override
  protected InMemoryStateStore createStore() {
    return new InMemoryStateStore();
  }

  @Override
  protected Optional<InMemoryStateStore> reopen(InMemoryStateStore store) {
    store.simulateCrash();
    return Optional.of(store);
  }
}
