package io.replica.core.host;

import io.replica.core.testing.Mutation;
import io.replica.core.tracking.DiskTracker;
import io.replica.core.tracking.VmTracker;
import io.replica.core.tracking.ActivityLog;
import io.replica.core.journal.CycleJournal;
import io.replica.core.history.UndoHistory;
import io.replica.core.primary.PrimaryRelationship;
import io.replica.core.primary.PrimaryRecord;
import io.replica.core.primary.PeerLink;
import io.replica.core.primary.PrimaryHost;
import io.replica.core.replica.ReplicaHost;
import io.replica.core.context.Failures;
import io.replica.core.replica.ReplicaRelationship;
import io.replica.core.replica.ReplicaRecord;
import io.replica.core.replica.UnreadableReplica;

import io.replica.api.AuthenticationType;
import io.replica.api.AuthorizationEntry;
import io.replica.api.ChangeTracker;
import io.replica.api.CorruptDataException;
import io.replica.api.DiskId;
import io.replica.api.InitialReplicationMethod;
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
import io.replica.api.VmDisk;
import io.replica.api.VmId;
import io.replica.api.WrongStateException;
import io.replica.api.event.ReplicationEvent;
import io.replica.api.event.ReplicationListener;
import io.replica.spi.consistency.ConsistencyProvider;
import io.replica.spi.host.PowerState;
import io.replica.spi.host.VirtualMachineHost;
import io.replica.spi.storage.DiskSpec;
import io.replica.spi.storage.StorageLocation;
import io.replica.spi.storage.StorageProvider;
import io.replica.spi.storage.VirtualDisk;
import io.replica.spi.time.Clock;
import io.replica.spi.time.Scheduler;
import io.replica.spi.transport.ConnectOptions;
import io.replica.spi.transport.Connection;
import io.replica.spi.transport.Endpoint;
import io.replica.spi.transport.Message;
import io.replica.spi.transport.MessageHandler;
import io.replica.spi.transport.Transport;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The replication manager of one host. Every piece of relationship state is guarded by one lock;
 * transport callbacks and timers hop onto the scheduler and take it, so the engine behaves the same
 * on a real thread pool and on the testkit's single-threaded manual scheduler.
 */
public final class Engine implements ReplicationManager, PrimaryHost, ReplicaHost {
  private static final Logger LOG = LoggerFactory.getLogger(Engine.class);
  /** The largest disk a primary may ask a replica to create: 64 TiB, as VHDX. */
  static final long DISK_SIZE_MAX = 64L << 40;
  /** The most disks per machine a replica accepts. */
  static final int DISKS_MAX = 256;
  private static final Duration INITIAL_START_AHEAD_MAX = Duration.ofDays(7);

  private final String hostName;
  private final String listenHost;
  private final Clock clock;
  private final Scheduler scheduler;
  private final Transport transport;
  private final StorageProvider storage;
  private final long preserveMemoryBytes;
  private final ConsistencyProvider consistency;
  private final @Nullable VirtualMachineHost machines;
  /** The primary's own state (relationships, activity logs); null keeps it in memory only. */
  private final io.replica.spi.storage.@Nullable StateStore primaryState;
  private final java.nio.file.Path spillDirectory;
  private final ReentrantLock lock = new ReentrantLock();
  private final SerialExecutor events;
  private final List<ReplicationListener> listeners = new CopyOnWriteArrayList<>();
  /** The transport's latest host warning (a certificate expiring); touched only on events. */
  private @Nullable ReplicationEvent hostWarning;
  /** The listeners that have received hostWarning; touched only on events. */
  private final Set<ReplicationListener> warned =
      java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
  private final Map<VmId, PrimaryRelationship> primaries = new ConcurrentHashMap<>();
  /** Primaries whose replica has not accepted yet. */
  private final Map<VmId, PrimaryRelationship> enabling = new HashMap<>();
  private final Map<VmId, ReplicaRelationship> replicas = new ConcurrentHashMap<>();
  /** Replica machines whose state could not be read at start; the others load without them. */
  private final Map<VmId, UnreadableReplica> unreadable = new ConcurrentHashMap<>();
  private final List<PeerLink> links = new ArrayList<>();
  /** Listeners by authentication type and port. */
  private final Map<String, Transport.Listener> listening = new LinkedHashMap<>();
  private volatile ReplicaServerSettings serverSettings = ReplicaServerSettings.disabled();
  private boolean closed;

  /** The broken behaviours injected into this engine; empty but in the simulation's own tests. */
  private volatile Set<Mutation> mutations = Set.of();

  public Engine(String hostName, String listenHost, Clock clock, Scheduler scheduler,
      Transport transport, StorageProvider storage, long preserveMemoryBytes,
      java.nio.file.Path spillDirectory, ConsistencyProvider consistency, @Nullable VirtualMachineHost machines,
      io.replica.spi.storage.@Nullable StateStore primaryState) {
    this.machines = machines;
    this.primaryState = primaryState;
    this.preserveMemoryBytes = preserveMemoryBytes;
    this.consistency = consistency;
    this.spillDirectory = spillDirectory;
    this.hostName = hostName;
    this.listenHost = listenHost;
    this.clock = clock;
    this.scheduler = scheduler;
    this.transport = transport;
    this.storage = storage;
    this.events = new SerialExecutor(scheduler);
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

  String listenHost() {
    return listenHost;
  }

  public StorageProvider storageProvider() {
    return storage;
  }

  /** The machine's power state as this host's hypervisor reports it; null without one. */
  public @Nullable PowerState powerState(VmId vm) {
    return machines == null ? null : machines.powerState(vm);
  }

  public Duration monitoringInterval() {
    return serverSettings.monitoringInterval();
  }

  public void runLocked(Runnable task) {
    lock.lock();
    try {
      if (!closed) {
        task.run();
      }
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

  private static String describe(Throwable e) {
    return Failures.describe(e);
  }

  public @Nullable PrimaryRelationship primary(VmId vm) {
    PrimaryRelationship r = primaries.get(vm);
    return r != null ? r : enabling.get(vm);
  }

  public void adoptPrimary(PrimaryRelationship r) {
    enabling.remove(r.vm.id());
    primaries.put(r.vm.id(), r);
    try {
      persistPrimary(r);
    } catch (IOException e) {
      LOG.warn("cannot persist the state of {}: a restart of this host compares its disks again: {}",
          r.vm.id(), describe(e));
    }
    emit(new ReplicationEvent.StateChanged(r.vm.id(), clock.instant(), ReplicationMode.PRIMARY,
        ReplicationState.READY_FOR_INITIAL_REPLICATION, ReplicationState.READY_FOR_INITIAL_REPLICATION,
        "replication enabled to " + r.link.endpoint));
  }

  public void dropPrimary(PrimaryRelationship r) {
    enabling.remove(r.vm.id(), r);
    primaries.remove(r.vm.id(), r);
    r.remove();
    r.link.remove(r);
    if (r.link.isEmpty()) {
      links.remove(r.link);
    }
  }

  // ---- primary role

  @Override
  public String hostName() {
    return hostName;
  }

  @Override
  public CompletableFuture<Void> enableReplication(VirtualMachine vm, ReplicationSettings settings) {
    java.util.Objects.requireNonNull(vm, "vm");
    java.util.Objects.requireNonNull(settings, "settings");
    return async(() -> {
      VmId id = vm.id();
      if (primaries.containsKey(id) || enabling.containsKey(id) || replicas.containsKey(id)) {
        ReplicationMode mode = replicas.containsKey(id) ? ReplicationMode.REPLICA : ReplicationMode.PRIMARY;
        ReplicationState state = replicas.containsKey(id) ? replicas.get(id).state()
            : primaries.containsKey(id) ? primaries.get(id).state() : ReplicationState.READY_FOR_INITIAL_REPLICATION;
        throw new WrongStateException(id, state, Set.of(), "virtual machine " + id + " ('" + vm.name() + "') already replicates"
            + " on " + hostName + " as " + mode + " in state " + state + "; remove replication before"
            + " enabling it again");
      }
      if (isThisHost(settings.replicaServer())) {
        throw new IllegalArgumentException("cannot replicate '" + vm.name() + "' to '"
            + settings.replicaServer() + "': that is this host (choose another replica server)");
      }
      checkSupported(vm, settings);
      Map<DiskId, VirtualDisk> disks = new LinkedHashMap<>();
      for (VmDisk d : PrimaryRelationship.replicatedDisks(vm, settings)) {
        disks.put(d.id(), d.disk());
      }
      ActivityLog activity = primaryState == null ? null : new ActivityLog(primaryState, PrimaryRecord.activityName(id));
      VmTracker tracker = new VmTracker(id, settings.trackingBlockSizeBytes(), disks, preserveMemoryBytes,
          spillDirectory, activity);
      if (mutated(Mutation.COPY_BEFORE_WRITE_SKIPPED)) {
        tracker.skipCopyBeforeWrite();
      }
      ConnectOptions options = new ConnectOptions(settings.authenticationType(), settings.compressionEnabled());
      PeerLink link = linkTo(PeerLink.endpointOf(settings), options);
      CompletableFuture<Void> done = new CompletableFuture<>();
      PrimaryRelationship r = new PrimaryRelationship(this, vm, settings, tracker, link, done);
      resumeIfPersisted(r, tracker);
      enabling.put(id, r);
      link.add(r);
      return done;
    });
  }

  /** Picks up what a previous run of this host persisted for the same machine, disks and replica. */
  private void resumeIfPersisted(PrimaryRelationship r, VmTracker tracker) {
    if (primaryState == null) {
      return;
    }
    VmId vm = r.vm.id();
    try {
      Optional<byte[]> doc = primaryState.read(PrimaryRecord.name(vm));
      if (doc.isEmpty()) {
        return;
      }
      PrimaryRecord before = PrimaryRecord.fromJson(PrimaryRecord.name(vm), doc.get());
      PrimaryRecord now = r.record();
      if (!before.disks().equals(now.disks()) || before.trackingBlockSizeBytes() != now.trackingBlockSizeBytes()
          || !before.replicaServer().equals(now.replicaServer()) || before.replicaServerPort() != now.replicaServerPort()) {
        LOG.info("virtual machine {} replicates differently than before the restart; starting afresh", vm);
        return;
      }
      tracker.restoreHotExtents(ActivityLog.load(primaryState, PrimaryRecord.activityName(vm)));
      r.resumeFrom(before);
    } catch (IOException | RuntimeException e) {
      LOG.warn("cannot read the persisted state of {}; it replicates afresh: {}", vm, describe(e));
    }
  }

  /** Keeps a primary relationship's state durable, when the host has a state store. */
  public void persistPrimary(PrimaryRelationship r) throws IOException {
    if (primaryState != null) {
      primaryState.write(PrimaryRecord.name(r.vm.id()), r.record().toJson());
    }
  }

  private void forgetPrimary(VmId vm) {
    if (primaryState == null) {
      return;
    }
    try {
      primaryState.delete(PrimaryRecord.name(vm));
      primaryState.delete(PrimaryRecord.activityName(vm));
    } catch (IOException e) {
      LOG.warn("cannot delete the persisted state of {}: {}", vm, describe(e));
    }
  }

  private void checkSupported(VirtualMachine vm, ReplicationSettings s) {
    String what = "virtual machine " + vm.id() + " ('" + vm.name() + "')";
    for (DiskId d : s.replicatedDisks()) {
      if (vm.disk(d).isEmpty()) {
        throw new IllegalArgumentException("replicated disk " + d + " is not a disk of " + what
            + "; its disks are " + vm.disks().stream().map(VmDisk::id).toList());
      }
    }
    for (VmDisk d : vm.disks()) {
      if (d.boot() && !s.replicatedDisks().isEmpty() && !s.replicatedDisks().contains(d.id())) {
        throw new IllegalArgumentException("the boot disk " + d.id() + " of " + what
            + " must be replicated; add it to the replicated disks");
      }
    }
    for (VmDisk d : PrimaryRelationship.replicatedDisks(vm, s)) {
      int sector = d.disk().logicalSectorSizeBytes();
      if (s.trackingBlockSizeBytes() % sector != 0) {
        throw new IllegalArgumentException("tracking block size " + s.trackingBlockSizeBytes()
            + " bytes does not fit disk " + d.id() + " of " + what + " with " + sector
            + "-byte sectors; use a multiple of " + sector);
      }
    }
    if (s.compressionEnabled() && !transport.supportsCompression()) {
      throw new UnsupportedOperationException("compression (for " + what + ") is not supported by the"
          + " transport " + transport.getClass().getSimpleName() + "; disable compression");
    }
    if (!transport.authenticationTypes().contains(s.authenticationType())) {
      throw new UnsupportedOperationException("authentication type " + s.authenticationType() + " (for "
          + what + ") is not supported by the transport " + transport.getClass().getSimpleName()
          + "; it supports " + transport.authenticationTypes());
    }
    s.initialReplicationStartTime().ifPresent(at -> {
      if (at.isAfter(clock.instant().plus(INITIAL_START_AHEAD_MAX))) {
        throw new IllegalArgumentException("initial replication start time " + at + " for " + what
            + " is more than 7 days ahead; choose a time within 7 days");
      }
    });
  }

  private PeerLink linkTo(Endpoint endpoint, ConnectOptions options) {
    for (PeerLink l : links) {
      if (l.endpoint.equals(endpoint) && l.matches(options)) {
        return l;
      }
    }
    PeerLink l = new PeerLink(this, endpoint, options);
    links.add(l);
    return l;
  }

  private PrimaryRelationship requirePrimary(VmId vm, String operation) {
    PrimaryRelationship r = primaries.get(vm);
    if (r == null) {
      PrimaryRelationship waiting = enabling.get(vm);
      if (waiting != null) {
        throw new WrongStateException(vm, waiting.state(), Set.of(), operation + " needs replica server "
            + waiting.link.endpoint + " to accept virtual machine " + vm + " first; wait until it does, or remove"
            + " replication");
      }
      if (replicas.containsKey(vm)) {
        throw new WrongStateException(vm, replicas.get(vm).state(), Set.of(), operation
            + " is a primary operation, but virtual machine " + vm + " is a replica on " + hostName);
      }
      throw new NotFoundException("virtual machine " + vm + " does not replicate on " + hostName
          + "; enable replication first");
    }
    return r;
  }

  private static void requireState(String operation, PrimaryRelationship r, Set<ReplicationState> allowed) {
    if (!allowed.contains(r.state())) {
      throw new WrongStateException(operation, r.vm.id(), r.state(), allowed);
    }
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
      ReplicaServerSettings mine = serverSettings;
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
        r = enabling.get(vm);
      }
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
        dropPrimary(p);
        forgetPrimary(vm);
        emit(new ReplicationEvent.StateChanged(vm, clock.instant(), ReplicationMode.PRIMARY, p.state(),
            p.state(), "replication removed"));
        return CompletableFuture.completedFuture(null);
      }
      ReplicaRelationship r = replicas.remove(vm);
      UnreadableReplica u = r == null ? unreadable.remove(vm) : null;
      if (r == null && u == null) {
        throw new NotFoundException("virtual machine " + vm + " does not replicate on " + hostName);
      }
      if (r != null) {
        r.close();
      }
      try {
        StorageLocation loc = storage.open(r != null ? r.location : u.location());
        for (String name : loc.state().list(CycleJournal.directory(vm))) {
          loc.state().delete(name);
        }
        for (String name : loc.state().list(UndoHistory.directory(vm))) {
          loc.state().delete(name);
        }
        loc.state().delete(ReplicaRelationship.recordName(vm));
      } catch (IOException e) {
        throw new ReplicaException("cannot remove the state of replica " + vm + ": " + describe(e), e);
      }
      return CompletableFuture.completedFuture(null);
    });
  }

  // ---- replica role

  @Override
  public void setReplicaServerSettings(ReplicaServerSettings settings) {
    java.util.Objects.requireNonNull(settings, "settings");
    locked(() -> {
      for (AuthenticationType t : settings.allowedAuthenticationTypes()) {
        if (settings.enabled() && !transport.authenticationTypes().contains(t)) {
          throw new UnsupportedOperationException("authentication type " + t + " is not supported by the"
              + " transport " + transport.getClass().getSimpleName() + "; it supports "
              + transport.authenticationTypes());
        }
      }
      // Keep the listeners that stay; close the others before binding new ones on their ports.
      Map<String, Transport.Listener> wanted = new LinkedHashMap<>();
      if (settings.enabled()) {
        for (AuthenticationType t : settings.allowedAuthenticationTypes()) {
          wanted.put(t + "@" + settings.port(t), null);
        }
      }
      Map<String, Transport.Listener> kept = new LinkedHashMap<>();
      listening.forEach((key, l) -> {
        if (wanted.containsKey(key)) {
          kept.put(key, l);
        } else {
          l.close();
        }
      });
      listening.clear();
      listening.putAll(kept);
      try {
        for (AuthenticationType t : settings.allowedAuthenticationTypes()) {
          String key = t + "@" + settings.port(t);
          if (settings.enabled() && !listening.containsKey(key)) {
            listening.put(key, transport.listen(new Endpoint(listenHost, settings.port(t)), t, this::accept));
          }
        }
        Map<VmId, UnreadableReplica> failed = new LinkedHashMap<>();
        Map<VmId, ReplicaRelationship> found = settings.enabled() ? loadReplicas(settings, failed) : Map.of();
        serverSettings = settings;
        found.forEach(replicas::putIfAbsent);
        found.keySet().forEach(unreadable::remove);
        failed.forEach((vm, u) -> {
          if (unreadable.put(vm, u) == null) {
            emit(new ReplicationEvent.HealthChanged(vm, clock.instant(), io.replica.api.HealthState.NORMAL,
                u.health()));
          }
        });
        return null;
      } catch (IOException e) {
        throw new ReplicaException("cannot apply the replica server settings on " + hostName + ": "
            + describe(e) + "; check the ports and storage locations and apply the settings again", e);
      }
    });
  }

  /**
   * Finds the replica machines kept in the storage locations the settings name, and recovers them.
   * A machine whose state cannot be read goes to {@code failed} and the others load all the same:
   * one bad file must not stop a host's every replica.
   *
   * @throws IOException only if a storage location itself cannot be opened or listed
   */
  private Map<VmId, ReplicaRelationship> loadReplicas(ReplicaServerSettings settings,
      Map<VmId, UnreadableReplica> failed) throws IOException {
    Set<String> locations = new TreeSet<>();
    settings.defaultStorageLocation().ifPresent(locations::add);
    settings.authorizationEntries().forEach(e -> locations.add(e.storageLocation()));
    Map<VmId, ReplicaRelationship> found = new LinkedHashMap<>();
    for (String location : locations) {
      StorageLocation loc = storage.open(location);
      for (String name : loc.state().list("")) {
        if (!name.endsWith("/replica.json") || name.indexOf('/') != name.lastIndexOf('/')) {
          continue;
        }
        VmId vm;
        try {
          vm = VmId.parse(name.substring(0, name.indexOf('/')));
        } catch (IllegalArgumentException notAMachine) {
          LOG.warn("storage location '{}' holds {}, whose folder is not a virtual machine id; ignored",
              location, name);
          continue;
        }
        if (replicas.containsKey(vm) || found.containsKey(vm) || failed.containsKey(vm)) {
          continue;
        }
        ReplicaRecord record;
        try {
          record = ReplicaRecord.fromJson(name, loc.state().read(name).orElseThrow());
          VmId named = VmId.parse(record.vm());
          if (!named.equals(vm)) {
            throw new CorruptDataException(name + " describes virtual machine " + named + ", not " + vm);
          }
        } catch (IOException | RuntimeException e) {
          failed.put(vm, unreadable(vm, location, name, e));
          continue;
        }
        Map<DiskId, VirtualDisk> disks = new LinkedHashMap<>();
        ReplicaRelationship r = null;
        try {
          if (record.attachedDisks()) {
            String missing = attachedDisks(vm, record, disks);
            if (missing != null) {
              LOG.warn("replica {} keeps the disks this host ran it on as primary, and they cannot be found: {};"
                  + " let the VirtualMachineHost return the machine, or set its replication up again", vm, missing);
              continue;
            }
          } else {
            for (ReplicaRecord.Disk d : record.disks()) {
              DiskId id = DiskId.parse(d.id());
              disks.put(id, loc.disks().open(ReplicaRelationship.diskName(vm, id), false));
            }
          }
          r = new ReplicaRelationship(this, location, loc, record, disks);
          recoverJournals(r, loc);
          r.restoreTestFailover();
          found.put(vm, r);
        } catch (IOException | RuntimeException e) {
          failed.put(vm, unreadable(vm, location, vm + "/", e));
          release(r, record, disks);
        }
      }
    }
    return found;
  }

  private UnreadableReplica unreadable(VmId vm, String location, String file, Exception e) {
    String reason = UnreadableReplica.reason(vm, location, file, hostName, describe(e));
    LOG.error("{}", reason, e);
    return new UnreadableReplica(vm, location, reason);
  }

  /** Closes what a replica that failed to load had opened, so that a later attempt can open it. */
  private static void release(@Nullable ReplicaRelationship r, ReplicaRecord record, Map<DiskId, VirtualDisk> disks) {
    if (r != null) {
      r.close();
    }
    if (record.attachedDisks()) {
      return; // the embedder's disks
    }
    for (VirtualDisk d : disks.values()) {
      try {
        d.close();
      } catch (IOException | RuntimeException e) {
        LOG.warn("cannot close a disk of a replica that failed to load", e);
      }
    }
  }

  /**
   * The embedder's disks of a machine this host is the replica of on the disks it ran it on; fills
   * {@code out} and returns null, or returns why they are not there.
   */
  private @Nullable String attachedDisks(VmId vm, ReplicaRecord record, Map<DiskId, VirtualDisk> out) {
    Optional<VirtualMachine> machine = machines == null ? Optional.empty() : machines.machine(vm);
    if (machine.isEmpty()) {
      return machines == null ? "no VirtualMachineHost" : "the VirtualMachineHost does not know the machine";
    }
    for (ReplicaRecord.Disk d : record.disks()) {
      DiskId id = DiskId.parse(d.id());
      Optional<VmDisk> disk = machine.get().disks().stream().filter(x -> x.id().equals(id)).findFirst();
      if (disk.isEmpty() || disk.get().disk().sizeBytes() != d.sizeBytes()
          || disk.get().disk().logicalSectorSizeBytes() != d.logicalSectorSizeBytes()) {
        out.clear();
        return "disk " + id + " (" + d.sizeBytes() + " bytes, " + d.logicalSectorSizeBytes() + "-byte sectors)"
            + " is not among the machine's disks " + machine.get().disks();
      }
      out.put(id, disk.get().disk());
    }
    return null;
  }

  /** Applies the committed journals a crash left, in order, and drops the unfinished ones. */
  private void recoverJournals(ReplicaRelationship r, StorageLocation loc) throws IOException {
    List<Long> committed = new ArrayList<>();
    for (String name : loc.state().list(CycleJournal.directory(r.vm))) {
      long cycle = CycleJournal.cycleOf(name);
      if (cycle <= r.lastCommitted() || !CycleJournal.read(loc.state(), name, rec -> { })) {
        loc.state().delete(name);
      } else {
        committed.add(cycle);
      }
    }
    committed.sort(null);
    if (!committed.isEmpty()) {
      LOG.info("replica {}: applying journaled cycles {} left by a restart", r.vm, committed);
      r.recovered(committed);
      r.applyPending();
    }
  }

  @Override
  public ReplicaServerSettings replicaServerSettings() {
    return serverSettings;
  }

  private MessageHandler accept(Connection c) {
    SerialExecutor inbound = new SerialExecutor(scheduler);
    return new MessageHandler() {
      @Override
      public void onMessage(Connection conn, Message message) {
        inbound.execute(() -> runLocked(() -> onReplicaMessage(conn, message)));
      }

      @Override
      public void onClosed(Connection conn, @Nullable Throwable cause) {
        inbound.execute(() -> runLocked(() -> replicas.values().forEach(r -> r.connectionClosed(conn))));
      }
    };
  }

  private void onReplicaMessage(Connection c, Message m) {
    String peer = c.peerIdentity();
    if (m instanceof Message.EnableRequest req) {
      c.send(enableReplica(c, req));
      return;
    }
    ReplicaRelationship r = replicas.get(m.vm());
    UnreadableReplica broken = r == null ? unreadable.get(m.vm()) : null;
    if (broken != null) {
      // Its primary learns why nothing is taken; the operator repairs the replica host.
      if (m instanceof Message.CycleBegin b) {
        c.send(new Message.CycleRejected(m.vm(), b.cycle(), broken.reason(), false));
      }
      return;
    }
    Optional<AuthorizationEntry> entry = serverSettings.authorize(peer);
    if (r == null || entry.isEmpty() || !entry.get().trustGroup().equals(r.record().trustGroup())
        || !entry.get().storageLocation().equals(r.location)) {
      LOG.warn("rejected {} from primary '{}' for virtual machine {}: not authorized for it",
          m.getClass().getSimpleName(), peer, m.vm());
      if (m instanceof Message.CycleBegin b) {
        c.send(new Message.CycleRejected(m.vm(), b.cycle(), "primary '" + peer
            + "' is not authorized for virtual machine " + m.vm() + " on " + hostName, false));
      }
      return;
    }
    r.onMessage(c, m);
  }

  private Message.EnableResponse enableReplica(Connection c, Message.EnableRequest req) {
    String peer = c.peerIdentity();
    VmId vm = req.vm();
    ReplicaServerSettings settings = serverSettings;
    if (!settings.enabled()) {
      return refuse(vm, Message.EnableStatus.REFUSED, "replication to " + hostName + " is not enabled");
    }
    if (isThisHost(peer)) {
      // A name that only reached this host through an alias still authenticates as this host.
      LOG.warn("replica server {} refused virtual machine {}: the primary is this host", hostName, vm);
      return refuse(vm, Message.EnableStatus.REFUSED, "primary '" + peer + "' is this host, "
          + hostName + "; a machine cannot replicate to its own host (choose another replica server)");
    }
    Optional<AuthorizationEntry> entry = settings.authorize(peer);
    if (entry.isEmpty()) {
      LOG.warn("replica server {} rejected primary '{}' for virtual machine {}: not in the authorization list",
          hostName, peer, vm);
      return refuse(vm, Message.EnableStatus.NOT_AUTHORIZED, "replica server " + hostName
          + " rejected primary '" + peer + "': not in the authorization list (add an entry with a matching"
          + " pattern)");
    }
    String error = checkRequest(req);
    if (error != null) {
      return refuse(vm, Message.EnableStatus.REFUSED, error);
    }
    UnreadableReplica broken = replicas.containsKey(vm) ? null : unreadable.get(vm);
    if (broken != null) {
      return refuse(vm, Message.EnableStatus.REFUSED, broken.reason());
    }
    if (req.reverseOfCycle() != -1) {
      return acceptReverse(c, entry.get(), req);
    }
    ReplicaRelationship existing = replicas.get(vm);
    try {
      if (existing != null) {
        if (!existing.record().trustGroup().equals(entry.get().trustGroup())) {
          return refuse(vm, Message.EnableStatus.NOT_AUTHORIZED, "virtual machine " + vm + " replicates to "
              + hostName + " from trust group '" + existing.record().trustGroup() + "'; primary '" + peer
              + "' is in trust group '" + entry.get().trustGroup() + "'");
        }
        if (!sameDisks(existing.record(), req)) {
          return refuse(vm, Message.EnableStatus.REFUSED, "virtual machine " + vm + " already has a replica"
              + " on " + hostName + " with other disks; remove it on the replica first");
        }
        if (existing.state() == ReplicationState.FAILOVER_WAITING_COMPLETION
            || existing.state() == ReplicationState.FAILED_OVER) {
          return refuse(vm, Message.EnableStatus.REFUSED, "virtual machine " + vm + " failed over on " + hostName
              + " (" + existing.state() + "); it no longer takes changes from '" + peer + "'");
        }
        existing.primaryConnected(peer, c);
        return new Message.EnableResponse(vm, Message.EnableStatus.ACCEPTED, "", existing.lastCommitted());
      }
      ReplicaRelationship r = createReplica(peer, entry.get(), req);
      r.primaryConnected(peer, c);
      replicas.put(vm, r);
      emit(new ReplicationEvent.StateChanged(vm, clock.instant(), ReplicationMode.REPLICA,
          ReplicationState.WAITING_FOR_INITIAL_REPLICATION, ReplicationState.WAITING_FOR_INITIAL_REPLICATION,
          "replica created for primary '" + peer + "' in " + entry.get().storageLocation()));
      return new Message.EnableResponse(vm, Message.EnableStatus.ACCEPTED, "", -1);
    } catch (IOException | RuntimeException e) {
      LOG.warn("replica server {} cannot take virtual machine {} from '{}'", hostName, vm, peer, e);
      return refuse(vm, Message.EnableStatus.REFUSED, "replica server " + hostName + " cannot store virtual"
          + " machine " + vm + ": " + describe(e));
    }
  }

  /**
   * The former replica of a planned failover replicates back: this host, the former primary, keeps
   * the machine's disks as they are (at the failover's cycle) and becomes its replica.
   */
  private Message.EnableResponse acceptReverse(Connection c, AuthorizationEntry entry, Message.EnableRequest req) {
    VmId vm = req.vm();
    // After a restart of this host the relationship may still be connecting to its old replica.
    PrimaryRelationship p = primary(vm);
    boolean unplanned = req.reverseOfCycle() == PrimaryRelationship.REVERSE_AFTER_UNPLANNED;
    if (p == null) {
      return refuse(vm, Message.EnableStatus.REFUSED, "virtual machine " + vm + " failed over to '" + c.peerIdentity()
          + "', but " + hostName + " does not replicate it; enable replication from '" + c.peerIdentity()
          + "' instead of reversing");
    }
    if (unplanned) {
      PowerState power = machines == null ? null : machines.powerState(vm);
      if (power != PowerState.OFF) {
        return refuse(vm, Message.EnableStatus.REFUSED, "virtual machine " + vm + " failed over to '"
            + c.peerIdentity() + "', but on " + hostName + " it is " + (power == null
                ? "of unknown power state (no VirtualMachineHost)" : power) + "; shut it down to replicate back");
      }
    } else if (p.state() != ReplicationState.PREPARED_FOR_FAILOVER
        || p.lastAcked() != req.reverseOfCycle()) {
      return refuse(vm, Message.EnableStatus.REFUSED, "virtual machine " + vm + " is not prepared for failover"
          + " at cycle " + req.reverseOfCycle() + " on " + hostName);
    }
    try {
      StorageLocation loc = storage.open(entry.storageLocation());
      List<ReplicaRecord.Disk> described = new ArrayList<>();
      Map<DiskId, VirtualDisk> disks = new LinkedHashMap<>();
      for (DiskTracker t : p.tracker.disks()) {
        described.add(new ReplicaRecord.Disk(t.id.toString(), t.disk.sizeBytes(), t.disk.logicalSectorSizeBytes()));
        disks.put(t.id, t.disk);
      }
      // After an unplanned failover the disks here hold writes the other side never got: they are
      // repaired by a resynchronization before anything else applies.
      long held = unplanned ? p.lastAcked() : req.reverseOfCycle();
      ReplicaRecord record = new ReplicaRecord(ReplicaRecord.VERSION, vm.toString(), req.vmName(), c.peerIdentity(),
          entry.trustGroup(), req.trackingBlockSizeBytes(), described, held,
          clock.instant().toString(), unplanned, req.additionalRecoveryPoints(), List.of(), true);
      loc.state().write(ReplicaRelationship.recordName(vm), record.toJson());
      ReplicaRelationship r = new ReplicaRelationship(this, entry.storageLocation(), loc, record, disks);
      r.primaryConnected(c.peerIdentity(), c);
      if (unplanned) {
        sendChangedRanges(c, p);
      }
      primaries.remove(vm);
      enabling.remove(vm);
      forgetPrimary(vm);
      p.cancelTimers();
      p.link.remove(p);
      if (p.link.isEmpty()) {
        links.remove(p.link);
      }
      replicas.put(vm, r);
      emit(new ReplicationEvent.StateChanged(vm, clock.instant(), ReplicationMode.REPLICA,
          ReplicationState.PREPARED_FOR_FAILOVER, ReplicationState.REPLICATING,
          "reverse replication from '" + c.peerIdentity() + "': this host is now the replica"));
      p.reversed();
      return new Message.EnableResponse(vm, Message.EnableStatus.ACCEPTED, "", held);
    } catch (IOException | RuntimeException e) {
      LOG.warn("cannot take reverse replication of {} from '{}'", vm, c.peerIdentity(), e);
      return refuse(vm, Message.EnableStatus.REFUSED, "cannot become the replica of " + vm + " on " + hostName
          + ": " + describe(e));
    }
  }

  /**
   * Tells the new primary what these disks changed since the last cycle it acknowledged, so that it
   * compares only those blocks and its own changes. Sent only when this side's tracking is sound.
   */
  private static void sendChangedRanges(Connection c, PrimaryRelationship p) {
    if (!p.changesKnown()) {
      LOG.info("{} has no trustworthy change tracking for {}; the new primary compares every block", p.vm.id(),
          c.peerIdentity());
      return;
    }
    for (DiskTracker t : p.tracker.disks()) {
      long[] ranges = t.pendingRanges();
      int step = 2 * Message.ChangedRanges.MAX_RANGES;
      int from = 0;
      do {
        int to = Math.min(ranges.length, from + step);
        c.send(new Message.ChangedRanges(p.vm.id(), t.id, java.util.Arrays.copyOfRange(ranges, from, to)));
        from = to;
      } while (from < ranges.length);
    }
  }

  /**
   * A planned failover completed on this replica host: the machine runs here from now on, and
   * replicates back to its former primary without an initial replication.
   */
  public void startReverse(ReplicaRelationship r, Message.FailoverPrepared m) {
    ReplicationSettings settings = ReplicationSettings.builder(m.reverseHost()).replicaServerPort(m.reversePort())
        .authenticationType(m.authentication()).replicationFrequency(m.replicationFrequency())
        .trackingBlockSizeBytes(r.record().trackingBlockSizeBytes())
        .recoveryHistory(r.record().additionalRecoveryPoints() == 0 ? io.replica.api.RecoveryHistory.latestOnly()
            : io.replica.api.RecoveryHistory.additional(r.record().additionalRecoveryPoints()))
        .build();
    reverse(r, settings, m.cycle());
  }

  @Override
  public CompletableFuture<Void> reverseReplication(VmId vm, ReplicationSettings requested) {
    java.util.Objects.requireNonNull(requested, "settings");
    return async(() -> {
      ReplicaRelationship r = requireReplica(vm);
      if (r.state() != ReplicationState.FAILED_OVER) {
        throw new WrongStateException("reverse replication", vm, r.state(), EnumSet.of(ReplicationState.FAILED_OVER));
      }
      // The disks keep the granularity their history was tracked at.
      ReplicationSettings settings = requested.toBuilder()
          .trackingBlockSizeBytes(r.record().trackingBlockSizeBytes()).build();
      List<VmDisk> vmDisks = new ArrayList<>();
      r.disks().forEach((id, d) -> vmDisks.add(new VmDisk(id, d, vmDisks.isEmpty())));
      checkSupported(new VirtualMachine(vm, r.record().vmName(), vmDisks), settings);
      try {
        r.forget();
      } catch (IOException e) {
        throw new ReplicaException("cannot release the replica state of " + vm + ": " + describe(e), e);
      }
      return reverse(r, settings, PrimaryRelationship.REVERSE_AFTER_UNPLANNED);
    });
  }

  /**
   * The machine runs on this host after a failover: it becomes the primary and replicates back,
   * from {@code reverseOf} (a planned failover's cycle) or by resynchronization after an unplanned one.
   */
  private CompletableFuture<Void> reverse(ReplicaRelationship r, ReplicationSettings settings, long reverseOf) {
    List<VmDisk> vmDisks = new ArrayList<>();
    r.disks().forEach((id, d) -> vmDisks.add(new VmDisk(id, d, vmDisks.isEmpty())));
    VirtualMachine vm = new VirtualMachine(r.vm, r.record().vmName(), vmDisks);
    Map<DiskId, VirtualDisk> tracked = new LinkedHashMap<>(r.disks());
    VmTracker tracker = new VmTracker(r.vm, settings.trackingBlockSizeBytes(), tracked, preserveMemoryBytes,
        spillDirectory);
    if (mutated(Mutation.COPY_BEFORE_WRITE_SKIPPED)) {
      tracker.skipCopyBeforeWrite();
    }
    PeerLink link = linkTo(PeerLink.endpointOf(settings), new ConnectOptions(settings.authenticationType(), false));
    CompletableFuture<Void> done = new CompletableFuture<>();
    PrimaryRelationship p = new PrimaryRelationship(this, vm, settings, tracker, link, done);
    p.reverseOf = reverseOf;
    if (reverseOf == PrimaryRelationship.REVERSE_AFTER_UNPLANNED) {
      // What the machine changed here since the failover is compared with the other side, whatever it says.
      ReplicaRelationship.ReverseBase base = r.reverseBase(tracker);
      if (base != null) {
        for (DiskTracker t : tracker.disks()) {
          t.markDirty(base.changed().get(t.id));
        }
      }
      p.reverseBase = base;
    }
    p.continueAfter(r.record().lastAppliedCycle());
    replicas.remove(r.vm);
    enabling.put(r.vm, p);
    link.add(p);
    done.whenComplete((ok, failure) -> {
      if (failure != null) {
        LOG.warn("reverse replication of {} to {} failed: {}; the machine stays failed over here", r.vm,
            link.endpoint, describe(failure));
        try {
          r.reinstate(tracker);
          replicas.putIfAbsent(r.vm, r);
        } catch (IOException | RuntimeException e) {
          LOG.warn("cannot keep {} failed over after its reverse replication failed", r.vm, e);
        } finally {
          tracker.release();
        }
      }
    });
    return done;
  }

  /**
   * Whether {@code name} names this host: host names compare without case and without a final dot,
   * as DNS does. Hyper-V refuses replication to the primary's own host, and so do we: the replica
   * would share the primary's storage and take its name.
   */
  boolean isThisHost(String name) {
    return normalHost(name).equals(normalHost(hostName));
  }

  private static String normalHost(String name) {
    String n = name.strip().toLowerCase(java.util.Locale.ROOT);
    return n.endsWith(".") ? n.substring(0, n.length() - 1) : n;
  }

  private static Message.EnableResponse refuse(VmId vm, Message.EnableStatus status, String reason) {
    return new Message.EnableResponse(vm, status, reason, -1);
  }

  private static @Nullable String checkRequest(Message.EnableRequest req) {
    if (req.additionalRecoveryPoints() < 0
        || req.additionalRecoveryPoints() > io.replica.api.RecoveryHistory.MAX_ADDITIONAL_POINTS) {
      return "virtual machine " + req.vm() + " asks for " + req.additionalRecoveryPoints()
          + " additional recovery points; allowed: 0 to " + io.replica.api.RecoveryHistory.MAX_ADDITIONAL_POINTS;
    }
    if (req.disks().isEmpty() || req.disks().size() > DISKS_MAX) {
      return "virtual machine " + req.vm() + " asks for " + req.disks().size() + " disks; allowed: 1 to " + DISKS_MAX;
    }
    int block = req.trackingBlockSizeBytes();
    if (block < 512 || block > (1 << 20) || Integer.bitCount(block) != 1) {
      return "tracking block size " + block + " is invalid; allowed: a power of two from 512 to 1048576";
    }
    for (Message.DiskDescriptor d : req.disks()) {
      int sector = d.logicalSectorSizeBytes();
      if (sector != 512 && sector != 4096 || d.sizeBytes() > DISK_SIZE_MAX || d.sizeBytes() % sector != 0) {
        return "disk " + d.disk() + " of virtual machine " + req.vm() + " has an unsupported geometry ("
            + d.sizeBytes() + " bytes, " + sector + "-byte sectors); allowed: up to 64 TiB, 512 or 4096-byte sectors";
      }
    }
    return null;
  }

  private static boolean sameDisks(ReplicaRecord record, Message.EnableRequest req) {
    if (record.disks().size() != req.disks().size()) {
      return false;
    }
    for (int i = 0; i < record.disks().size(); i++) {
      ReplicaRecord.Disk a = record.disks().get(i);
      Message.DiskDescriptor b = req.disks().get(i);
      if (!a.id().equals(b.disk().toString()) || a.sizeBytes() != b.sizeBytes()
          || a.logicalSectorSizeBytes() != b.logicalSectorSizeBytes()) {
        return false;
      }
    }
    return true;
  }

  private ReplicaRelationship createReplica(String peer, AuthorizationEntry entry, Message.EnableRequest req)
      throws IOException {
    StorageLocation loc = storage.open(entry.storageLocation());
    VmId vm = req.vm();
    List<ReplicaRecord.Disk> described = new ArrayList<>();
    Map<DiskId, VirtualDisk> disks = new LinkedHashMap<>();
    java.util.Set<DiskId> created = new java.util.HashSet<>();
    try {
      for (Message.DiskDescriptor d : req.disks()) {
        String name = ReplicaRelationship.diskName(vm, d.disk());
        VirtualDisk disk;
        if (req.existingCopy() && loc.disks().exists(name)) {
          disk = loc.disks().open(name, false);
          if (disk.sizeBytes() != d.sizeBytes() || disk.logicalSectorSizeBytes() != d.logicalSectorSizeBytes()) {
            disk.close();
            throw new IOException("the existing copy of disk " + d.disk() + " has " + disk.sizeBytes() + " bytes in "
                + disk.logicalSectorSizeBytes() + "-byte sectors, the primary's has " + d.sizeBytes() + " in "
                + d.logicalSectorSizeBytes() + "; restore a copy of that disk or replicate over the network");
          }
        } else {
          disk = loc.disks().create(name, new DiskSpec(d.sizeBytes(), d.logicalSectorSizeBytes(), 4096, false));
          created.add(d.disk());
        }
        disks.put(d.disk(), disk);
        described.add(new ReplicaRecord.Disk(d.disk().toString(), d.sizeBytes(), d.logicalSectorSizeBytes()));
      }
      ReplicaRecord record = new ReplicaRecord(ReplicaRecord.VERSION, vm.toString(), req.vmName(), peer,
          entry.trustGroup(), req.trackingBlockSizeBytes(), described, -1, null, false,
          req.additionalRecoveryPoints(), List.of(), false);
      loc.state().write(ReplicaRelationship.recordName(vm), record.toJson());
      return new ReplicaRelationship(this, entry.storageLocation(), loc, record, disks);
    } catch (IOException | RuntimeException e) {
      for (DiskId id : disks.keySet()) {
        try {
          disks.get(id).close();
          if (created.contains(id)) {
            loc.disks().delete(ReplicaRelationship.diskName(vm, id)); // never an existing copy
          }
        } catch (IOException cleanup) {
          e.addSuppressed(cleanup);
        }
      }
      throw e;
    }
  }

  private ReplicaRelationship requireReplica(VmId vm) {
    ReplicaRelationship r = replicas.get(vm);
    UnreadableReplica u = unreadable.get(vm);
    if (r == null && u != null) {
      throw new WrongStateException(vm, ReplicationState.ERROR, Set.of(), u.reason());
    }
    if (r == null) {
      throw new NotFoundException("virtual machine " + vm + " has no replica on " + hostName);
    }
    return r;
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
            + ": " + describe(e), e);
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
            + ": " + describe(e), e);
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
    Set<VmId> all = new TreeSet<>(primaries.keySet());
    all.addAll(enabling.keySet()); // a resumed machine waiting for its replica is this host's too
    all.addAll(replicas.keySet());
    all.addAll(unreadable.keySet());
    return all;
  }

  @Override
  public ReplicationMode mode(VmId vm) {
    if (primary(vm) != null) {
      return ReplicationMode.PRIMARY;
    }
    for (ReplicaRelationship r : replicas.values()) {
      if (vm.equals(r.testMachine())) {
        return ReplicationMode.TEST_REPLICA;
      }
    }
    if (unreadable.containsKey(vm)) {
      return ReplicationMode.REPLICA;
    }
    requireReplica(vm);
    return ReplicationMode.REPLICA;
  }

  @Override
  public ReplicationState state(VmId vm) {
    return locked(() -> {
      PrimaryRelationship p = primary(vm);
      if (p == null && !replicas.containsKey(vm) && unreadable.containsKey(vm)) {
        return ReplicationState.ERROR;
      }
      return p != null ? p.state() : requireReplica(vm).state();
    });
  }

  @Override
  public ReplicationHealth health(VmId vm) {
    return locked(() -> {
      PrimaryRelationship p = primary(vm);
      UnreadableReplica u = unreadable.get(vm);
      if (p == null && !replicas.containsKey(vm) && u != null) {
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
      primaries.values().forEach(PrimaryRelationship::cancelTimers);
      enabling.values().forEach(PrimaryRelationship::cancelTimers);
      links.forEach(PeerLink::close);
      listening.values().forEach(Transport.Listener::close);
      replicas.values().forEach(ReplicaRelationship::close);
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
