package io.replica.host.admin;

import io.replica.api.VirtualMachine;
import java.util.List;
import java.util.Optional;

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
}
