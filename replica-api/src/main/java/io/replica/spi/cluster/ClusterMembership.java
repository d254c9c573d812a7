package io.replica.spi.cluster;

import io.replica.api.VmId;
import java.util.Optional;
import java.util.Set;

/**
 * Who is in the cluster and which node owns each replica virtual machine. Implementations sit on a
 * coordination engine (ZooKeeper, an embedder's cluster service) or, for a single host, in memory;
 * the engine never runs consensus of its own.
 */
public interface ClusterMembership {

  /** This node's name, as primaries reach it. */
  String localNode();

  /** The nodes that are up now. */
  Set<String> liveNodes();

  /** The node that owns {@code vm}, if any does. */
  Optional<String> ownerOf(VmId vm);

  /**
   * Records {@code node} as the owner of {@code vm}, if the current owner is still {@code expected}
   * (empty for none); returns whether it did.
   */
  boolean compareAndSetOwner(VmId vm, Optional<String> expected, String node);

  /** Calls {@code listener} after the live nodes or an ownership changed. */
  void addListener(Runnable listener);
}
