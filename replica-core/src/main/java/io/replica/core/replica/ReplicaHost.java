package io.replica.core.replica;

import io.replica.core.context.EngineContext;
import io.replica.spi.transport.Message;

/** What the replica role needs of the host that runs it, besides the common engine context. */
public interface ReplicaHost extends EngineContext {

  /**
   * A planned failover completed on this replica: the machine runs here from now on and replicates
   * back to its former primary as {@code m} says.
   */
  void startReverse(ReplicaRelationship r, Message.FailoverPrepared m);
}
