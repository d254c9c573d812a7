package io.replica.spi.host;

import io.replica.api.VmId;
import java.util.concurrent.CompletableFuture;

/**
 * The embedder's hypervisor, as far as replication needs it: failover refuses to start while the
 * primary machine runs, and a failed-over machine must be started somewhere.
 */
public interface VirtualMachineHost {

  /** The machine's power state, {@link PowerState#OFF} for a machine this host does not know. */
  PowerState powerState(VmId vm);

  /** Starts the machine on this host. */
  CompletableFuture<Void> start(VmId vm);

  /** Shuts the machine down cleanly. */
  CompletableFuture<Void> stop(VmId vm);
}
