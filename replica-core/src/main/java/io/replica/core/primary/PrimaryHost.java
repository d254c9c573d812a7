package io.replica.core.primary;

import io.replica.api.VmId;
import io.replica.core.context.EngineContext;
import io.replica.spi.consistency.ConsistencyProvider;
import io.replica.spi.host.PowerState;
import io.replica.spi.storage.StorageProvider;
import io.replica.spi.transport.Transport;
import java.io.IOException;
import org.jspecify.annotations.Nullable;

/** What the primary role needs of the host that runs it, besides the common engine context. */
public interface PrimaryHost extends EngineContext {

  Transport transport();

  ConsistencyProvider consistency();

  /** Where exports to removable media go. */
  StorageProvider storageProvider();

  /** The machine's power state as this host's hypervisor reports it; null without one. */
  @Nullable PowerState powerState(VmId vm);

  /** The relationship of {@code vm} on this host, accepted or still enabling; null if none. */
  @Nullable PrimaryRelationship primary(VmId vm);

  /** The replica accepted {@code r}: it joins the host's primaries and its state is kept. */
  void adoptPrimary(PrimaryRelationship r);

  /** {@code r} ends: the host forgets it and its link, if no other relationship uses the link. */
  void dropPrimary(PrimaryRelationship r);

  /** Keeps {@code r}'s state durable, when the host has a state store. */
  void persistPrimary(PrimaryRelationship r) throws IOException;
}
