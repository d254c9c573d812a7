package io.replica.spi.host;

import io.replica.api.VirtualMachine;
import io.replica.api.VmId;
import java.util.Optional;
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

  /**
   * The machine as this host has it, with its disks, or empty when this host does not have it.
   *
   * <p>After a planned or unplanned failover this host may become the replica of a machine it
   * used to run, on that machine's own disks, which belong to the embedder. When this host starts
   * again, the engine takes those disks from here to resume being the replica. The default knows
   * no machine: such a replica then stays unloaded (with a warning) until the machine is set up
   * again.
   */
  default Optional<VirtualMachine> machine(VmId vm) {
    return Optional.empty();
  }
}
