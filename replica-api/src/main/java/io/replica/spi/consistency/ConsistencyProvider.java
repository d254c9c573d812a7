package io.replica.spi.consistency;

import io.replica.api.VmId;
import java.util.concurrent.CompletableFuture;

/**
 * Brings a virtual machine's applications to a consistent state on disk for an
 * application-consistent recovery point: the guest agent's equivalent of VSS or fsfreeze.
 *
 * <p>The engine calls {@link #quiesce(VmId)}, cuts every disk of the machine at once, then calls
 * {@link #thaw(VmId)} whatever happened. A quiesce that fails yields a crash-consistent point.
 */
public interface ConsistencyProvider {

  /** Flushes and freezes the guest's writes; completes when the disks are consistent. */
  CompletableFuture<Void> quiesce(VmId vm);

  /** Lets the guest write again. Called once after every {@link #quiesce(VmId)}, even a failed one. */
  void thaw(VmId vm);

  /** A provider that never quiesces: every point is crash-consistent. */
  static ConsistencyProvider crashConsistentOnly() {
    return new ConsistencyProvider() {
      @Override
      public CompletableFuture<Void> quiesce(VmId vm) {
        return CompletableFuture.failedFuture(
            new UnsupportedOperationException("no consistency provider is configured for " + vm));
      }

      @Override
      public void thaw(VmId vm) {}
    };
  }
}
