package io.replica.core;

import io.replica.api.ReplicationManager;
import io.replica.core.host.Engine;
import io.replica.spi.consistency.ConsistencyProvider;
import io.replica.spi.host.VirtualMachineHost;
import io.replica.spi.storage.StorageProvider;
import io.replica.spi.time.Clock;
import io.replica.spi.time.Scheduler;
import io.replica.spi.transport.Transport;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Builds the {@link ReplicationManager} of one host from the parts the embedder provides: a
 * transport, the storage behind the replica server's storage locations, and the time seams.
 *
 * <pre>{@code
 * ReplicationManager manager = ReplicaEngine.builder()
 *     .hostName("hv1.contoso.com")
 *     .transport(transport)
 *     .storage(location -> myStorage(location))
 *     .scheduler(Scheduler.of(executor))
 *     .build();
 * }</pre>
 */
public final class ReplicaEngine {
  private ReplicaEngine() {}

  /** A new builder. */
  public static Builder builder() {
    return new Builder();
  }

  /** Collects the parts of a replication manager; {@link #build()} checks that none is missing. */
  public static final class Builder {
    private @Nullable String hostName;
    private @Nullable String listenHost;
    private Clock clock = Clock.system();
    private @Nullable Scheduler scheduler;
    private @Nullable Transport transport;
    private @Nullable StorageProvider storage;
    private long copyBeforeWriteMemoryBytes = 64L << 20;
    private io.replica.spi.storage.@Nullable StateStore spillStore;
    private ConsistencyProvider consistency = ConsistencyProvider.crashConsistentOnly();
    private @Nullable VirtualMachineHost machines;
    private io.replica.spi.storage.@Nullable StateStore primaryState;

    private Builder() {}

    /** The name this host is known and authenticated by, such as {@code hv1.contoso.com}. Required. */
    public Builder hostName(String hostName) {
      Objects.requireNonNull(hostName, "hostName");
      if (hostName.isBlank()) {
        throw new IllegalArgumentException("host name is blank; give the name this host authenticates as");
      }
      this.hostName = hostName;
      return this;
    }

    /** The address the replica server listens on; the host name by default. */
    public Builder listenHost(String listenHost) {
      this.listenHost = Objects.requireNonNull(listenHost, "listenHost");
      return this;
    }

    /** The clock; the system clock by default. Tests pass a manual one. */
    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /** Runs the engine's background work; required, as the engine makes no threads of its own. */
    public Builder scheduler(Scheduler scheduler) {
      this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
      return this;
    }

    /** Carries messages to and from other hosts. Required. */
    public Builder transport(Transport transport) {
      this.transport = Objects.requireNonNull(transport, "transport");
      return this;
    }

    /**
     * Opens the storage locations named in the replica server settings; required for a host that
     * is a replica server.
     */
    public Builder storage(StorageProvider storage) {
      this.storage = Objects.requireNonNull(storage, "storage");
      return this;
    }

    /**
     * How many bytes of old block contents copy-before-write may hold in memory per machine while a
     * cycle is in transfer (64 MiB by default); past that they go to the spill store.
     *
     * @throws IllegalArgumentException if negative
     */
    public Builder copyBeforeWriteMemoryBytes(long bytes) {
      if (bytes < 0) {
        throw new IllegalArgumentException("copy-before-write memory of " + bytes + " bytes is negative");
      }
      this.copyBeforeWriteMemoryBytes = bytes;
      return this;
    }

    /**
     * Where copy-before-write puts old block contents past {@link #copyBeforeWriteMemoryBytes}: one
     * append log per disk under {@code spill/}, deleted when its cycle ends, closed when the engine
     * closes, and deleted when an engine starts on the store (what a crash or a close left). The {@link #primaryState} store by default; with neither, old contents
     * stay in memory past the budget.
     */
    public Builder spillStore(io.replica.spi.storage.StateStore store) {
      this.spillStore = Objects.requireNonNull(store, "store");
      return this;
    }

    /**
     * Quiesces guests for application-consistent recovery points; without one, such points fall
     * back to crash-consistent ones and an event says so.
     */
    public Builder consistencyProvider(ConsistencyProvider provider) {
      this.consistency = Objects.requireNonNull(provider, "provider");
      return this;
    }

    /**
     * Where this host keeps its state as a primary: which machines replicate where, and an
     * activity log of the extents written since the replica's last acknowledgement. With it, a
     * primary that restarts and enables the same machine again resumes, sending only those
     * extents; without it, a restart compares every block by hash. With it, a guest write to a
     * cold extent waits for the log to be durable, and fails if it cannot be.
     */
    public Builder primaryState(io.replica.spi.storage.StateStore state) {
      this.primaryState = Objects.requireNonNull(state, "state");
      return this;
    }

    /** The hypervisor: a planned failover checks with it that the machine is off. */
    public Builder virtualMachineHost(VirtualMachineHost host) {
      this.machines = Objects.requireNonNull(host, "host");
      return this;
    }

    /**
     * The manager.
     *
     * @throws IllegalStateException naming the first missing part
     */
    public ReplicationManager build() {
      if (hostName == null) {
        throw new IllegalStateException("a replication manager needs hostName(...)");
      }
      if (scheduler == null) {
        throw new IllegalStateException("replication manager of " + hostName + " needs scheduler(...);"
            + " use Scheduler.of(executor) for a real one");
      }
      if (transport == null) {
        throw new IllegalStateException("replication manager of " + hostName + " needs transport(...)");
      }
      StorageProvider s = storage != null ? storage : location -> {
        throw new java.io.IOException("host " + hostName + " has no storage configured for replica"
            + " location '" + location + "'; give the builder storage(...)");
      };
      io.replica.spi.storage.StateStore spill = spillStore != null ? spillStore : primaryState;
      return new Engine(hostName, listenHost != null ? listenHost : hostName, clock, scheduler, transport, s,
          copyBeforeWriteMemoryBytes, spill, consistency, machines, primaryState);
    }
  }
}
