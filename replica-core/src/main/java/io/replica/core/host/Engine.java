package io.replica.core.host;

import io.replica.api.ChangeTracker;
import io.replica.api.NotFoundException;
import io.replica.api.RecoveryPoint;
import io.replica.api.RecoveryPointView;
import io.replica.api.ReplicaException;
import io.replica.api.ReplicaServerSettings;
import io.replica.api.ReplicationHealth;
import io.replica.api.ReplicationManager;
import io.replica.api.ReplicationMode;
import io.replica.api.ReplicationSettings;
import io.replica.api.ReplicationState;
import io.replica.api.ReplicationStatistics;
import io.replica.api.VirtualMachine;
import io.replica.api.VmId;
import io.replica.api.WrongStateException;
import io.replica.api.event.ReplicationEvent;
import io.replica.api.event.ReplicationListener;
import io.replica.core.context.Failures;
import io.replica.core.context.SerialExecutor;
import io.replica.core.failover.Reversal;
import io.replica.core.primary.Primaries;
import io.replica.core.primary.PrimaryHost;
import io.replica.core.primary.PrimaryRelationship;
import io.replica.core.replica.ReplicaHost;
import io.replica.core.replica.ReplicaRelationship;
import io.replica.core.replica.ReplicaServer;
import io.replica.core.replica.UnreadableReplica;
import io.replica.core.testing.Mutation;
import io.replica.spi.consistency.ConsistencyProvider;
import io.replica.spi.host.PowerState;
import io.replica.spi.host.VirtualMachineHost;
import io.replica.spi.storage.StorageProvider;
import io.replica.spi.time.Clock;
import io.replica.spi.time.Scheduler;
import io.replica.spi.transport.Message;
import io.replica.spi.transport.Transport;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The replication manager of one host: the façade over the primary role ({@code Primaries}), the
 * replica role ({@code ReplicaServer}) and the moves between them ({@code Reversal}). Every piece
 * of relationship state is guarded by one lock; transport callbacks, timers and completed futures
 * hop onto the scheduler and take it. Code that depends on the order of two such tasks must say
 * so: a pool with several threads may run them in either order, the testkit's manual scheduler
 * runs them first in, first out.
 */
public final class Engine implements ReplicationManager, PrimaryHost, ReplicaHost {
  private static final Logger LOG = LoggerFactory.getLogger(Engine.class);

  private final String hostName;
  private final String listenHost;
  private final Clock clock;
  private final Scheduler scheduler;
  private final Transport transport;
  private final StorageProvider storage;
  private final ConsistencyProvider consistency;
  private final @Nullable VirtualMachineHost machines;
  private final ReentrantLock lock = new ReentrantLock();
  private final SerialExecutor events;
  private final List<ReplicationListener> listeners = new CopyOnWriteArrayList<>();
  /** The transport's latest host warning (a certificate expiring); touched only on events. */
  private @Nullable ReplicationEvent hostWarning;
  /** The listeners that have received hostWarning; touched only on events. */
  private final Set<ReplicationListener> warned =
      java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
  private final Primaries primaries;
  private final ReplicaServer replicas;
  private final Reversal reversal;
  private boolean closed;

  /** The broken behaviours injected into this engine; empty but in the simulation's own tests. */
  private volatile Set<Mutation> mutations = Set.of();

  public Engine(String hostName, String listenHost, Clock clock, Scheduler scheduler,
      Transport transport, StorageProvider storage, long preserveMemoryBytes,
      io.replica.spi.storage.@Nullable StateStore spillStore, ConsistencyProvider consistency, @Nullable VirtualMachineHost machines,
      io.replica.spi.storage.@Nullable StateStore primaryState) {
    this.machines = machines;
    this.consistency = consistency;
    this.hostName = hostName;
    this.listenHost = listenHost;
    this.clock = clock;
    this.scheduler = scheduler;
    this.transport = transport;
    this.storage = storage;
    this.events = new SerialExecutor(scheduler);
    this.primaries = new Primaries(this, transport, preserveMemoryBytes, spillStore, primaryState);
    primaries.deleteLeftoverSpills();
    this.replicas = new ReplicaServer(this, listenHost, transport, storage, machines,
        (c, entry, req) -> reversal().accept(c, entry, req));
    this.reversal = new Reversal(this, this, primaries, replicas, storage, machines);
    // Last: the transport may report a warning at once.
    transport.reportEventsTo(this::hostEvent);
  }

  // ---- plumbing shared with the relationships

  public Clock clock() {
    return clock;
  }

  public Scheduler scheduler() {
    return scheduler;
  }

  public Transport transport() {
    return transport;
  }

  public ConsistencyProvider consistency() {
    return consistency;
  }

  public StorageProvider storageProvider() {
    return storage;
  }

  /** The machine's power state as this host's hypervisor reports it; null without one. */
  public @Nullable PowerState powerState(VmId vm) {
    return machines == null ? null : machines.powerState(vm);
  }

  public Duration monitoringInterval() {
    return replicas.settings().monitoringInterval();
  }

  public boolean runLocked(Runnable task) {
    lock.lock();
    try {
      if (closed) {
        return false;
      }
      task.run();
      return true;
    } catch (RuntimeException e) {
      LOG.error("replication engine of {} failed a task", hostName, e);
      throw e;
    } finally {
      lock.unlock();
    }
  }

  private <T> T locked(Supplier<T> task) {
    lock.lock();
    try {
      if (closed) {
        throw new IllegalStateException("replication manager of " + hostName + " is closed");
      }
      return task.get();
    } finally {
      lock.unlock();
    }
  }

  /** Runs {@code task} under the lock; a thrown exception fails the returned future instead. */
  private <T> CompletableFuture<T> async(Supplier<CompletableFuture<T>> task) {
    try {
      return locked(task);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  public void emit(ReplicationEvent event) {
    events.execute(() -> {
      for (ReplicationListener l : listeners) {
        deliver(l, event);
      }
    });
  }

  private static void deliver(ReplicationListener l, ReplicationEvent event) {
    try {
      l.onEvent(event);
    } catch (RuntimeException e) {
      LOG.warn("replication listener {} failed on {}", l, event, e);
    }
  }

  /**
   * A warning about the whole host from the transport, given to each listener once. The
   * transport repeats it when a listener subscribes (it raises it first when it starts, before
   * anyone listens); a new warning goes to everyone again.
   */
  private void hostEvent(ReplicationEvent event) {
    events.execute(() -> {
      if (!event.equals(hostWarning)) {
        hostWarning = event;
        warned.clear();
      }
      for (ReplicationListener l : listeners) {
        if (warned.add(l)) {
          deliver(l, event);
        }
      }
    });
  }


  @Override
  public @Nullable PrimaryRelationship primary(VmId vm) {
    return primaries.get(vm);
  }

  @Override
  public void adoptPrimary(PrimaryRelationship r) {
    primaries.adopt(r);
  }

  @Override
  public void dropPrimary(PrimaryRelationship r) {
    primaries.drop(r);
  }

  @Override
  public void persistPrimary(PrimaryRelationship r) throws IOException {
    primaries.persist(r);
  }

  @Override
  public void startReverse(ReplicaRelationship r, Message.FailoverPrepared m) {
    reversal.afterPlannedFailover(r, m);
  }

  private Reversal reversal() {
    return reversal;
  }

  // ---- primary role

  @Override
  public CompletableFuture<Void> enableReplication(VirtualMachine vm, ReplicationSettings settings) {
    java.util.Objects.requireNonNull(vm, "vm");
    java.util.Objects.requireNonNull(settings, "settings");
    return async(() -> {
      VmId id = vm.id();
      PrimaryRelationship p = primaries.get(id);
      ReplicaRelationship r = replicas.get(id);
      if (p != null || r != null) {
        ReplicationMode mode = r != null ? ReplicationMode.REPLICA : ReplicationMode.PRIMARY;
        ReplicationState state = r != null ? r.state()
            : primaries.accepted(id) != null ? p.state() : ReplicationState.READY_FOR_INITIAL_REPLICATION;
        throw new WrongStateException(id, state, Set.of(), "virtual machine " + id + " ('" + vm.name() + "') already replicates"
            + " on " + hostName + " as " + mode + " in state " + state + "; remove replication before"
            + " enabling it again");
      }
      return primaries.enable(vm, settings);
    });
  }

  private PrimaryRelationship requirePrimary(VmId vm, String operation) {
    ReplicaRelationship r = replicas.get(vm);
    return primaries.require(vm, operation, r == null ? null : r.state());
  }

  private static void requireState(String operation, PrimaryRelationship r, Set<ReplicationState> allowed) {
    Primaries.requireState(operation, r, allowed);
  }

  @Override
  public String hostName() {
    return hostName;
  }

  @Override
  public CompletableFuture<Void> startInitialReplication(VmId vm) {
    return async(() -> {
      PrimaryRelationship r = requirePrimary(vm, "start initial replication");
      requireState("start initial replication", r, EnumSet.of(ReplicationState.READY_FOR_INITIAL_REPLICATION));
      return r.startInitialReplication();
    });
  }

  @Override
  public CompletableFuture<Void> plannedFailover(VmId vm) {
    return async(() -> {
      PrimaryRelationship r = requirePrimary(vm, "planned failover");
      requireState("planned failover", r, EnumSet.of(ReplicationState.REPLICATING));
      if (machines == null) {
        throw new UnsupportedOperationException("planned failover of " + vm + " needs to know that the machine"
            + " is off; give the builder a virtualMachineHost(...)");
      }
      PowerState power = machines.powerState(vm);
      if (power != PowerState.OFF) {
        throw new WrongStateException(vm, r.state(), Set.of(), "planned failover of virtual machine " + vm
            + " is refused while it is " + power + "; shut it down first");
      }
      ReplicaServerSettings mine = replicas.settings();
      if (!mine.enabled()) {
        throw new IllegalStateException("planned failover of " + vm + " sets up reverse replication to " + hostName
            + ", which is not a replica server; enable it with setReplicaServerSettings(...) first");
      }
      return r.plannedFailover(mine);
    });
  }

  @Override
  public ChangeTracker changeTracker(VmId vm) {
    return locked(() -> {
      PrimaryRelationship r = primaries.get(vm);
      if (r == null) {
        throw new NotFoundException("virtual machine " + vm + " has no change tracker on " + hostName
            + "; enable replication first");
      }
      return r.tracker;
    });
  }

  @Override
  public CompletableFuture<Void> suspendReplication(VmId vm) {
    return async(() -> {
      PrimaryRelationship r = requirePrimary(vm, "suspend replication");
      requireState("suspend replication", r, EnumSet.of(ReplicationState.REPLICATING,
          ReplicationState.WAITING_FOR_INITIAL_REPLICATION, ReplicationState.READY_FOR_INITIAL_REPLICATION,
          ReplicationState.RESYNCHRONIZING));
      if (r.state() == ReplicationState.RESYNCHRONIZING) {
        r.suspendResynchronization();
      } else {
        r.suspend();
      }
      return CompletableFuture.completedFuture(null);
    });
  }

  @Override
  public CompletableFuture<Void> resumeReplication(VmId vm) {
    return async(() -> {
      PrimaryRelationship r = requirePrimary(vm, "resume replication");
      requireState("resume replication", r, EnumSet.of(ReplicationState.SUSPENDED,
          ReplicationState.RESYNCHRONIZE_SUSPENDED));
      if (r.state() == ReplicationState.RESYNCHRONIZE_SUSPENDED) {
        r.resumeResynchronization();
      } else {
        r.resume();
      }
      return CompletableFuture.completedFuture(null);
    });
  }

  @Override
  public CompletableFuture<Void> resynchronize(VmId vm) {
    return async(() -> {
      PrimaryRelationship r = requirePrimary(vm, "resynchronize");
      requireState("resynchronize", r, EnumSet.of(ReplicationState.WAITING_FOR_START_RESYNCHRONIZE,
          ReplicationState.REPLICATING));
      r.resynchronize();
      return CompletableFuture.completedFuture(null);
    });
  }

  @Override
  public CompletableFuture<io.replica.api.VerificationResult> verify(VmId vm) {
    return async(() -> {
      PrimaryRelationship r = requirePrimary(vm, "verify");
      requireState("verify", r, EnumSet.of(ReplicationState.REPLICATING));
      return r.verify();
    });
  }

  @Override
  public CompletableFuture<Void> cancelResynchronization(VmId vm) {
    return async(() -> {
      PrimaryRelationship r = requirePrimary(vm, "cancel resynchronization");
      requireState("cancel resynchronization", r, EnumSet.of(ReplicationState.RESYNCHRONIZING,
          ReplicationState.RESYNCHRONIZE_SUSPENDED));
      r.cancelResynchronization();
      return CompletableFuture.completedFuture(null);
    });
  }

  @Override
  public CompletableFuture<Void> removeReplication(VmId vm) {
    return async(() -> {
      PrimaryRelationship p = primary(vm);
      if (p != null) {
        p.removedWhileEnabling();
        primaries.drop(p);
        primaries.forget(vm);
        emit(new ReplicationEvent.StateChanged(vm, clock.instant(), ReplicationMode.PRIMARY, p.state(),
            p.state(), "replication removed"));
        return CompletableFuture.completedFuture(null);
      }
      if (!replicas.remove(vm)) {
        throw new NotFoundException("virtual machine " + vm + " does not replicate on " + hostName);
      }
      return CompletableFuture.completedFuture(null);
    });
  }

  // ---- replica role

  @Override
  public void setReplicaServerSettings(ReplicaServerSettings settings) {
    java.util.Objects.requireNonNull(settings, "settings");
    locked(() -> {
      replicas.apply(settings);
      return null;
    });
  }

  @Override
  public ReplicaServerSettings replicaServerSettings() {
    return replicas.settings();
  }

  private ReplicaRelationship requireReplica(VmId vm) {
    return replicas.require(vm);
  }

  @Override
  public CompletableFuture<Void> reverseReplication(VmId vm, ReplicationSettings requested) {
    java.util.Objects.requireNonNull(requested, "settings");
    return async(() -> reversal.afterFailover(vm, requested));
  }

  @Override
  public List<RecoveryPoint> recoveryPoints(VmId vm) {
    return locked(() -> requireReplica(vm).recoveryPoints());
  }

  @Override
  public RecoveryPointView openRecoveryPoint(RecoveryPoint point) {
    return locked(() -> requireReplica(point.vm()).open(point));
  }

  @Override
  public CompletableFuture<VirtualMachine> startTestFailover(VmId vm, io.replica.api.RecoveryPoint point) {
    return replicaOperation(vm, r -> r.startTestFailover(point));
  }

  @Override
  public Optional<VirtualMachine> testFailover(VmId vm) {
    return locked(() -> requireReplica(vm).testFailover());
  }

  @Override
  public CompletableFuture<Void> stopTestFailover(VmId vm) {
    return replicaOperation(vm, r -> {
      r.stopTestFailover();
      return null;
    });
  }

  @Override
  public CompletableFuture<VirtualMachine> failover(VmId vm, io.replica.api.RecoveryPoint point, boolean force) {
    java.util.Objects.requireNonNull(point, "point");
    return async(() -> {
      try {
        return requireReplica(vm).failover(point, force);
      } catch (IOException e) {
        throw new ReplicaException("replica storage failed for virtual machine " + vm + " on " + hostName
            + ": " + Failures.describe(e), e);
      }
    });
  }

  @Override
  public CompletableFuture<Void> cancelFailover(VmId vm) {
    return replicaOperation(vm, r -> {
      r.cancelFailover();
      return null;
    });
  }

  @Override
  public CompletableFuture<VirtualMachine> commitFailover(VmId vm) {
    return replicaOperation(vm, ReplicaRelationship::commitFailover);
  }

  /** An operation on a replica relationship that may fail with an I/O error. */
  private interface ReplicaOperation<T> {
    T apply(ReplicaRelationship r) throws IOException;
  }

  private <T> CompletableFuture<T> replicaOperation(VmId vm, ReplicaOperation<T> operation) {
    java.util.Objects.requireNonNull(vm, "vm");
    return async(() -> {
      try {
        return CompletableFuture.completedFuture(operation.apply(requireReplica(vm)));
      } catch (IOException e) {
        throw new ReplicaException("replica storage failed for virtual machine " + vm + " on " + hostName
            + ": " + Failures.describe(e), e);
      }
    });
  }

  @Override
  public CompletableFuture<Void> importInitialReplication(VmId vm, String location) {
    java.util.Objects.requireNonNull(location, "location");
    return replicaOperation(vm, r -> {
      r.importInitialReplication(storage.open(location), location);
      return null;
    });
  }

  @Override
  public long estimateRecoveryHistoryBytes(VmId vm, io.replica.api.RecoveryHistory history) {
    java.util.Objects.requireNonNull(history, "history");
    return locked(() -> requireReplica(vm).estimateHistoryBytes(history.additionalPoints(), history.pointInterval()));
  }

  // ---- both roles

  @Override
  public Set<VmId> virtualMachines() {
    Set<VmId> all = new TreeSet<>(primaries.machines()); // with those waiting for their replica
    all.addAll(replicas.machines());
    return all;
  }

  @Override
  public ReplicationMode mode(VmId vm) {
    if (primary(vm) != null) {
      return ReplicationMode.PRIMARY;
    }
    for (ReplicaRelationship r : replicas.all()) {
      if (vm.equals(r.testMachine())) {
        return ReplicationMode.TEST_REPLICA;
      }
    }
    if (replicas.unreadable(vm) != null) {
      return ReplicationMode.REPLICA;
    }
    requireReplica(vm);
    return ReplicationMode.REPLICA;
  }

  @Override
  public ReplicationState state(VmId vm) {
    return locked(() -> {
      PrimaryRelationship p = primary(vm);
      if (p == null && replicas.get(vm) == null && replicas.unreadable(vm) != null) {
        return ReplicationState.ERROR;
      }
      return p != null ? p.state() : requireReplica(vm).state();
    });
  }

  @Override
  public ReplicationHealth health(VmId vm) {
    return locked(() -> {
      PrimaryRelationship p = primary(vm);
      UnreadableReplica u = replicas.unreadable(vm);
      if (p == null && replicas.get(vm) == null && u != null) {
        return u.health();
      }
      return p != null ? p.health() : requireReplica(vm).health();
    });
  }

  @Override
  public ReplicationStatistics statistics(VmId vm) {
    return locked(() -> {
      PrimaryRelationship p = primary(vm);
      return p != null ? p.statistics() : requireReplica(vm).statistics();
    });
  }

  @Override
  public void resetStatistics(VmId vm) {
    locked(() -> {
      Instant now = clock.instant();
      PrimaryRelationship p = primary(vm);
      (p != null ? p.stats : requireReplica(vm).stats).reset(now);
      return null;
    });
  }

  @Override
  public ReplicationSettings settings(VmId vm) {
    return locked(() -> {
      PrimaryRelationship p = primary(vm);
      if (p == null) {
        throw new NotFoundException("virtual machine " + vm + " is not a primary on " + hostName
            + "; replication settings live on the primary");
      }
      return p.settings;
    });
  }

  @Override
  public void addListener(ReplicationListener listener) {
    listeners.add(java.util.Objects.requireNonNull(listener, "listener"));
    transport.reportEventsTo(this::hostEvent);
  }

  @Override
  public void removeListener(ReplicationListener listener) {
    listeners.remove(listener);
    events.execute(() -> warned.remove(listener));
  }

  @Override
  public void close() {
    lock.lock();
    try {
      if (closed) {
        return;
      }
      closed = true;
      primaries.close();
      replicas.close();
    } finally {
      lock.unlock();
    }
    // Listeners see every event of this manager before close returns.
    events.runPending();
  }

  @Override
  public String toString() {
    return "ReplicationManager[" + hostName + "]";
  }

  /**
   * Makes this engine, and only this one, behave in the broken way {@code mutation} names, from the
   * next relationship it starts on. For the simulation's own tests, which prove that the simulation
   * catches each broken behaviour; the package is exported to the testkit alone.
   */
  public void inject(Mutation mutation) {
    Set<Mutation> next = EnumSet.of(java.util.Objects.requireNonNull(mutation, "mutation"));
    next.addAll(mutations);
    mutations = Set.copyOf(next);
  }

  public boolean mutated(Mutation mutation) {
    return mutations.contains(mutation);
  }

}
