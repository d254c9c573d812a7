package io.replica.api;

import java.util.Optional;

/**
 * The replica broker of a cluster: the stable name primaries connect to, which knows which node
 * serves each replica machine and places new ones.
 */
public interface BrokerManager {

  /** The broker's client access point name. */
  String brokerName();

  /** The node that serves replica machine {@code vm}, if the cluster has it. */
  Optional<String> ownerOf(VmId vm);

  /**
   * Chooses the node for a new replica machine among the live nodes and records it.
   *
   * @throws ReplicaException if no node is available
   */
  String placeNewReplica(VmId vm);
}
