package io.replica.core.primary;

import io.replica.api.DiskId;
import io.replica.api.NotFoundException;
import io.replica.api.ReplicationMode;
import io.replica.api.ReplicationSettings;
import io.replica.api.ReplicationState;
import io.replica.api.VirtualMachine;
import io.replica.api.VmDisk;
import io.replica.api.VmId;
import io.replica.api.WrongStateException;
import io.replica.api.event.ReplicationEvent;
import io.replica.core.context.Failures;
import io.replica.core.context.HostNames;
import io.replica.core.primary.PeerLink;
import io.replica.core.primary.PrimaryHost;
import io.replica.core.primary.PrimaryRecord;
import io.replica.core.primary.PrimaryRelationship;
import io.replica.core.testing.Mutation;
import io.replica.core.tracking.ActivityLog;
import io.replica.core.tracking.VmTracker;
import io.replica.spi.storage.StateStore;
import io.replica.spi.storage.VirtualDisk;
import io.replica.spi.transport.ConnectOptions;
import io.replica.spi.transport.Endpoint;
import io.replica.spi.transport.Transport;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
/**
 * The primary role of a host: the machines it replicates (accepted, or waiting for their replica
 * server), the links to replica servers they share, and their state across restarts. Every method
 * runs under the engine's lock.
 */
public final class Primaries {
  private static final Logger LOG = LoggerFactory.getLogger(Primaries.class);
  private static final String SPILL_PREFIX = "spill/";

  private final PrimaryHost host;
  private final Transport transport;
  private final long preserveMemoryBytes;
  private final @Nullable StateStore spillStore;
  /** Makes each tracker's spill logs its own, whatever trackers of the same machine still exist. */
  private long spillSequence;
  /** Tells this engine's spill logs from those of an engine before it on the same store. */
  private final String engineStart;
  /** The primary's own state (relationships, activity logs); null keeps it in memory only. */
  private final io.replica.spi.storage.@Nullable StateStore primaryState;
  private final Map<VmId, PrimaryRelationship> primaries = new ConcurrentHashMap<>();
  /** Primaries whose replica has not accepted yet. */
  private final Map<VmId, PrimaryRelationship> enabling = new HashMap<>();
  private final List<PeerLink> links = new ArrayList<>();

  public Primaries(PrimaryHost host, Transport transport, long preserveMemoryBytes, @Nullable StateStore spillStore,
      io.replica.spi.storage.@Nullable StateStore primaryState) {
    this.host = host;
    this.transport = transport;
    this.preserveMemoryBytes = preserveMemoryBytes;
    this.spillStore = spillStore;
    this.engineStart = Long.toUnsignedString(host.clock().nanoTime(), 36);
    this.primaryState = primaryState;
  }

  /** The relationship of {@code vm}, accepted or still enabling; null if none. */
  public @Nullable PrimaryRelationship get(VmId vm) {
    PrimaryRelationship r = primaries.get(vm);
    return r != null ? r : enabling.get(vm);
  }

  /** The relationship of {@code vm} if its replica server accepted it; null otherwise. */
  public @Nullable PrimaryRelationship accepted(VmId vm) {
    return primaries.get(vm);
  }

  /**
   * Deletes the copy-before-write spill logs a crash of this host left: they belonged to cycles
   * that are gone. Called once, when the engine starts.
   */
  public void deleteLeftoverSpills() {
    if (spillStore == null) {
      return;
    }
    List<String> names;
    try {
      names = spillStore.list(SPILL_PREFIX);
    } catch (IOException e) {
      LOG.warn("cannot list the copy-before-write spill logs a restart left: {}", Failures.describe(e));
      return;
    }
    for (String name : names) {
      try {
        spillStore.delete(name);
      } catch (IOException e) {
        LOG.warn("cannot delete the copy-before-write spill log {} a restart left: {}", name, Failures.describe(e));
      }
    }
  }

  /** Every machine this host replicates as primary, accepted or waiting for its replica. */
  public Set<VmId> machines() {
    Set<VmId> all = new TreeSet<>(primaries.keySet());
    all.addAll(enabling.keySet());
    return all;
  }

  /** A tracker for {@code disks} at the settings' granularity. */
  public VmTracker tracker(VmId vm, ReplicationSettings settings, Map<DiskId, VirtualDisk> disks,
      @Nullable ActivityLog activity) {
    VmTracker tracker = new VmTracker(vm, settings.trackingBlockSizeBytes(), disks, preserveMemoryBytes,
        spillStore, SPILL_PREFIX + engineStart + "-" + vm + "-" + spillSequence++, activity);
    if (host.mutated(Mutation.COPY_BEFORE_WRITE_SKIPPED)) {
      tracker.skipCopyBeforeWrite();
    }
    return tracker;
  }

  /** {@code r} waits for its replica server to accept it (a reversal started it). */
  public void enabling(PrimaryRelationship r) {
    enabling.put(r.vm.id(), r);
    r.link.add(r);
  }

  /** The replica accepted {@code r}: it joins the primaries and its state is kept. */
  public void adopt(PrimaryRelationship r) {
    enabling.remove(r.vm.id());
    primaries.put(r.vm.id(), r);
    try {
      persist(r);
    } catch (IOException e) {
      LOG.warn("cannot persist the state of {}: a restart of this host compares its disks again: {}",
          r.vm.id(), Failures.describe(e));
    }
    host.emit(new ReplicationEvent.StateChanged(r.vm.id(), host.clock().instant(), ReplicationMode.PRIMARY,
        ReplicationState.READY_FOR_INITIAL_REPLICATION, ReplicationState.READY_FOR_INITIAL_REPLICATION,
        "replication enabled to " + r.link.endpoint));
  }

  /** {@code r} ends: it is removed, and its link too if no other relationship uses it. */
  public void drop(PrimaryRelationship r) {
    enabling.remove(r.vm.id(), r);
    primaries.remove(r.vm.id(), r);
    r.remove();
    unlink(r);
  }

  /**
   * {@code p} hands its machine over (this host becomes the replica): it stops without being
   * removed, and its persisted state goes.
   */
  public void handOver(PrimaryRelationship p) {
    VmId vm = p.vm.id();
    primaries.remove(vm);
    enabling.remove(vm);
    forget(vm);
    p.cancelTimers();
    unlink(p);
  }

  private void unlink(PrimaryRelationship r) {
    r.link.remove(r);
    if (r.link.isEmpty()) {
      links.remove(r.link);
    }
  }

  /** Stops every relationship's timers and closes the links. */
  public void close() {
    primaries.values().forEach(PrimaryRelationship::cancelTimers);
    enabling.values().forEach(PrimaryRelationship::cancelTimers);
    links.forEach(PeerLink::close);
    primaries.values().forEach(r -> r.tracker.closeSpills());
    enabling.values().forEach(r -> r.tracker.closeSpills());
  }

  /**
   * Starts replicating {@code vm} (already checked to replicate nowhere on this host): tracking
   * starts now, and the returned future completes when the replica server accepts the machine.
   */
  public CompletableFuture<Void> enable(VirtualMachine vm, ReplicationSettings settings) {
    VmId id = vm.id();
    if (HostNames.same(settings.replicaServer(), host.hostName())) {
      throw new IllegalArgumentException("cannot replicate '" + vm.name() + "' to '"
          + settings.replicaServer() + "': that is this host (choose another replica server)");
    }
    checkSupported(vm, settings);
    Map<DiskId, VirtualDisk> disks = new LinkedHashMap<>();
    for (VmDisk d : PrimaryRelationship.replicatedDisks(vm, settings)) {
      disks.put(d.id(), d.disk());
    }
    ActivityLog activity = primaryState == null ? null : new ActivityLog(primaryState, PrimaryRecord.activityName(id));
    VmTracker tracker = tracker(id, settings, disks, activity);
    ConnectOptions options = new ConnectOptions(settings.authenticationType(), settings.compressionEnabled());
    PeerLink link = linkTo(PeerLink.endpointOf(settings), options);
    CompletableFuture<Void> done = new CompletableFuture<>();
    PrimaryRelationship r = new PrimaryRelationship(host, vm, settings, tracker, link, done);
    resumeIfPersisted(r, tracker);
    enabling.put(id, r);
    link.add(r);
    return done;
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
      LOG.warn("cannot read the persisted state of {}; it replicates afresh: {}", vm, Failures.describe(e));
    }
  }

  /** Keeps a primary relationship's state durable, when the host has a state store. */
  public void persist(PrimaryRelationship r) throws IOException {
    if (primaryState != null) {
      primaryState.write(PrimaryRecord.name(r.vm.id()), r.record().toJson());
    }
  }

  public void forget(VmId vm) {
    if (primaryState == null) {
      return;
    }
    try {
      primaryState.delete(PrimaryRecord.name(vm));
      primaryState.delete(PrimaryRecord.activityName(vm));
    } catch (IOException e) {
      LOG.warn("cannot delete the persisted state of {}: {}", vm, Failures.describe(e));
    }
  }

  public void checkSupported(VirtualMachine vm, ReplicationSettings s) {
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
      if (at.isAfter(host.clock().instant().plus(INITIAL_START_AHEAD_MAX))) {
        throw new IllegalArgumentException("initial replication start time " + at + " for " + what
            + " is more than 7 days ahead; choose a time within 7 days");
      }
    });
  }

  public PeerLink linkTo(Endpoint endpoint, ConnectOptions options) {
    for (PeerLink l : links) {
      if (l.endpoint.equals(endpoint) && l.matches(options)) {
        return l;
      }
    }
    PeerLink l = new PeerLink(host, endpoint, options);
    links.add(l);
    return l;
  }

  /**
   * The accepted relationship of {@code vm}, for a primary operation.
   *
   * @param replicaState the state of {@code vm} if this host is its replica, for the error; null if not
   */
  public PrimaryRelationship require(VmId vm, String operation, @Nullable ReplicationState replicaState) {
    PrimaryRelationship r = primaries.get(vm);
    if (r == null) {
      PrimaryRelationship waiting = enabling.get(vm);
      if (waiting != null) {
        throw new WrongStateException(vm, waiting.state(), Set.of(), operation + " needs replica server "
            + waiting.link.endpoint + " to accept virtual machine " + vm + " first; wait until it does, or remove"
            + " replication");
      }
      if (replicaState != null) {
        throw new WrongStateException(vm, replicaState, Set.of(), operation
            + " is a primary operation, but virtual machine " + vm + " is a replica on " + host.hostName());
      }
      throw new NotFoundException("virtual machine " + vm + " does not replicate on " + host.hostName()
          + "; enable replication first");
    }
    return r;
  }

  public static void requireState(String operation, PrimaryRelationship r, Set<ReplicationState> allowed) {
    if (!allowed.contains(r.state())) {
      throw new WrongStateException(operation, r.vm.id(), r.state(), allowed);
    }
  }

  private static final Duration INITIAL_START_AHEAD_MAX = Duration.ofDays(7);
}
