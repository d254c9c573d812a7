package io.replica.host.admin;

import io.replica.api.ReplicationManager;
import io.replica.api.ReplicationSettings;
import io.replica.api.VirtualMachine;
import io.replica.api.VmId;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * The primary machines a host is configured with. The engine knows a machine only once replication
 * is enabled, so the management API asks the host's configuration to name a machine for
 * {@code enable} and to resolve names wherever an id is accepted.
 */
public interface MachineCatalog {
  /**
   * The machine whose name, or whose id in canonical UUID form, is {@code nameOrId}; empty if the
   * host has none such.
   */
  Optional<VirtualMachine> machine(String nameOrId);

  /** Every primary machine the host is configured with. */
  List<VirtualMachine> machines();

  /**
   * Enables replication of a configured machine (Enable-VMReplication). A host whose guests
   * reach their disks through it routes their writes through the change tracker from then on;
   * by default this is the engine's {@link ReplicationManager#enableReplication}.
   */
  default CompletableFuture<Void> enable(ReplicationManager manager, VirtualMachine vm, ReplicationSettings settings) {
    return manager.enableReplication(vm, settings);
  }

  /**
   * Removes replication of a machine (Remove-VMReplication); by default the engine's
   * {@link ReplicationManager#removeReplication}. A host routes its guests' writes to the
   * machine's own disks again.
   */
  default CompletableFuture<Void> remove(ReplicationManager manager, VmId vm) {
    return manager.removeReplication(vm);
  }

  /**
   * A machine now exists on this host outside the configuration: the test machine of a test
   * failover, or the machine a failover brought up. A host exports its disks; by default nothing.
   */
  default void attached(VirtualMachine machine) {}

  /** The machine {@link #attached} earlier is gone (test failover stopped, failover cancelled). */
  default void detached(VmId machine) {}

  /**
   * The failed-over machine {@code vm} replicates back to its old primary: a host routes its
   * guests' writes through the change tracker from now on; by default nothing.
   */
  default void reversed(ReplicationManager manager, VmId vm) {}
}
