package io.replica.core.primary;

import io.replica.api.DiskId;
import io.replica.api.NotAuthorizedException;
import io.replica.api.RecoveryHistory;
import io.replica.api.RecoveryPointType;
import io.replica.api.ReplicaException;
import io.replica.api.ReplicaServerSettings;
import io.replica.api.ReplicationHealth;
import io.replica.api.ReplicationMode;
import io.replica.api.ReplicationSettings;
import io.replica.api.ReplicationState;
import io.replica.api.ReplicationStatistics;
import io.replica.api.VerificationResult;
import io.replica.api.VirtualMachine;
import io.replica.api.VmDisk;
import io.replica.api.event.ReplicationEvent;
import io.replica.core.context.Failures;
import io.replica.core.context.StateTable;
import io.replica.core.health.HealthReport;
import io.replica.core.health.HealthWatch;
import io.replica.core.health.Stats;
import io.replica.core.replica.ReplicaRecord;
import io.replica.core.replica.ReplicaRelationship;
import io.replica.core.tracking.DiskTracker;
import io.replica.core.tracking.VmTracker;
import io.replica.spi.time.Cancellable;
import io.replica.spi.transport.Connection;
import io.replica.spi.transport.Message;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import org.jspecify.annotations.Nullable;

/**
 * The primary side of one machine's replication: cuts cycles on schedule, streams them, and
 * handles the replica's acknowledgements. Guarded by the engine lock.
 */
public final class PrimaryRelationship {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(PrimaryRelationship.class);
  /** The most bytes read for one block message. */
  /** How long a cycle may go without sending or hearing anything before the link is reset. */
  public static final Duration ANSWER_TIMEOUT = Duration.ofSeconds(60);

  public final VirtualMachine vm;
  public final ReplicationSettings settings;
  public final VmTracker tracker;
  private final PrimaryHost engine;
  public final PeerLink link;
  public final Stats stats;

  private ReplicationState state = ReplicationState.READY_FOR_INITIAL_REPLICATION;
  /** Completes when the replica accepted the machine; null once it did. */
  private @Nullable CompletableFuture<Void> enabling;
  private @Nullable CompletableFuture<Void> initialReplication;
  private @Nullable Cancellable initialStart;
  private @Nullable Cancellable timer;
  private @Nullable Connection connection;
  /** Whether the replica accepted the machine on the current connection. */
  private boolean accepted;
  private long connectedNanos;
  private long nextCycle;
  private long lastAcked = -1;
  /** The replica already held cycles of this machine when we knew of none: it needs a full copy. */
  private boolean replicaHoldsData;
  /** The first cycle number this relationship sent, -1 before any. */
  private long firstSent = -1;
  /** When the next cycle becomes an additional recovery point; null for the first one due now. */
  private @Nullable Instant nextPointAt;
  /** For reverse replication: what it builds on; null for a relationship that is no reversal. */
  public @Nullable ReverseOf reverseOf;
  /** A planned failover in progress: completes when the old replica replicates back here. */
  private @Nullable CompletableFuture<Void> planned;
  /** The first cycle cut after the planned failover started. */
  private long finalFrom = -1;
  private @Nullable ReplicaServerSettings reverseServer;
  private long pointsTaken;
  /** The guest is being quiesced for an application-consistent cut. */
  private boolean quiescing;
  /** The next cycle compares blocks by hash (resynchronization): every block, or see {@link #narrowResync}. */
  private boolean resyncPending;
  /** The resynchronization compares only the blocks changed on either side (reverse after unplanned failover). */
  private boolean narrowResync;
  /** This side's common ground with the other, for an unplanned failover's reverse replication. */
  public ReplicaRelationship.@Nullable ReverseBase reverseBase;
  /** The other side's changes, per disk, as it announced them before accepting the reverse replication. */
  private final Map<DiskId, List<long[]>> theirChanges = new HashMap<>();
  private long theirRanges;
  private boolean theirChangesOverflow;
  /** Ranges taken from the other side before falling back to comparing every block. */
  private static final int THEIR_RANGES_MAX = 1 << 20;
  /** Resumed from the state a previous run of this host left. */
  private boolean resumed;
  /** The last cycle the replica said it holds. */
  private long heldByReplica = -1;
  private final Bandwidth bandwidth;
  private final CycleSender sender;
  private @Nullable Cycle inflight;
  private @Nullable String error;
  private final HealthWatch healthWatch;
  private final OnlineVerify verify;

  public PrimaryRelationship(PrimaryHost engine, VirtualMachine vm, ReplicationSettings settings,
      VmTracker tracker, PeerLink link, CompletableFuture<Void> enabling) {
    this.engine = engine;
    this.vm = vm;
    this.settings = settings;
    this.tracker = tracker;
    this.link = link;
    this.enabling = enabling;
    this.stats = new Stats(engine.clock().instant());
    this.healthWatch = new HealthWatch(engine, vm.id());
    this.bandwidth = new Bandwidth(engine, settings.bandwidthBytesPerSecondMax());
    this.sender = new CycleSender(engine, vm.id(), tracker.trackingBlockSizeBytes(), bandwidth, link.endpoint,
        this::failInflight, this::pump);
    this.verify = new OnlineVerify(engine, vm.id(), settings, tracker, new Verifying());
    engine.scheduler().schedule(() -> engine.runLocked(this::enableTimedOut), ANSWER_TIMEOUT);
  }

  private void enableTimedOut() {
    CompletableFuture<Void> f = enabling;
    if (f == null) {
      return;
    }
    if (resumed) {
      // It goes on by itself: a lost request or answer is asked again on a fresh connection.
      resumeDelayed("cannot be reached yet (no answer within " + ANSWER_TIMEOUT.toSeconds() + " s)");
      link.reset("replica server " + link.endpoint + " did not answer the enable request of " + vm.id()
          + " within " + ANSWER_TIMEOUT.toSeconds() + " s; reconnecting");
      engine.scheduler().schedule(() -> engine.runLocked(this::enableTimedOut), ANSWER_TIMEOUT);
      return;
    }
    engine.dropPrimary(this);
    f.completeExceptionally(new ReplicaException("replica server " + link.endpoint + " did not accept"
        + " virtual machine " + vm.id() + " ('" + vm.name() + "') within " + ANSWER_TIMEOUT.toSeconds()
        + " s" + (link.lastFailure() == null ? "" : " (" + link.lastFailure() + ")")
        + "; check that it is reachable and try again"));
  }

  public ReplicationState state() {
    return state;
  }

  // ---- connection

  void connected(Connection c) {
    connection = c;
    accepted = false;
    connectedNanos = engine.clock().nanoTime();
    List<Message.DiskDescriptor> disks = new ArrayList<>();
    for (DiskTracker t : tracker.disks()) {
      disks.add(new Message.DiskDescriptor(t.id, t.disk.sizeBytes(), t.disk.logicalSectorSizeBytes()));
    }
    c.send(new Message.EnableRequest(vm.id(), vm.name(), engine.hostName(), disks,
        tracker.trackingBlockSizeBytes(), settings.recoveryHistory().additionalPoints(),
        enabling != null ? ReverseOf.toWire(reverseOf) : ReverseOf.WIRE_NONE,
        settings.initialReplicationMethod() == io.replica.api.InitialReplicationMethod.EXISTING_COPY));
  }

  void disconnected(String reason) {
    connection = null;
    accepted = false;
    stats.networkFailure();
    if (enabling != null && resumed) {
      resumeDelayed("cannot be reached yet (" + reason + ")");
      return;
    }
    if (enabling != null) {
      CompletableFuture<Void> f = enabling;
      engine.dropPrimary(this);
      f.completeExceptionally(new ReplicaException(
          "cannot enable replication of virtual machine " + vm.id() + " ('" + vm.name() + "'): "
              + reason + "; check that the replica server is reachable and enabled"));
      return;
    }
    failInflight(reason);
    updateHealth();
  }

  void onMessage(Message message) {
    if (message instanceof Message.PowerStateQuery) {
      Connection c = connection;
      if (c != null) {
        c.send(new Message.PowerStateReport(vm.id(), engine.powerState(vm.id())));
      }
    } else if (message instanceof Message.HashResponse m) {
      onHashResponse(m);
    } else if (message instanceof Message.VerifyResponse m) {
      verify.onResponse(m);
    } else if (message instanceof Message.ChangedRanges m) {
      onChangedRanges(m);
    } else if (message instanceof Message.FailoverCompleted m) {
      onFailoverCompleted(m);
    } else if (message instanceof Message.EnableResponse m) {
      onEnableResponse(m);
    } else if (message instanceof Message.CycleAck m) {
      onAck(m);
    } else if (message instanceof Message.CycleRejected m) {
      onRejected(m);
    }
  }

  /** The replica server answered an enable request: refused, or accepted holding some cycle. */
  private void onEnableResponse(Message.EnableResponse m) {
    if (m.status() != Message.EnableStatus.ACCEPTED) {
      onRefused(m);
      return;
    }
    accepted = true;
    long held = m.lastCommittedCycle();
    heldByReplica = held;
    // Never reuse a number the replica already holds (after a restart of this host, say).
    nextCycle = Math.max(nextCycle, held + 1);
    if (enabling == null) {
      reconnected(held);
    } else if (reverseOf instanceof ReverseOf.Unplanned) {
      acceptedReverseAfterUnplanned(held);
    } else if (resumed) {
      acceptedAfterRestart(held);
    } else {
      acceptedFirst(held);
    }
  }

  private void onRefused(Message.EnableResponse m) {
    String text = "replica server " + link.endpoint + " refused virtual machine " + vm.id()
        + " ('" + vm.name() + "'): " + m.reason();
    if (enabling != null && resumed && m.status() == Message.EnableStatus.REFUSED) {
      // A host that resumed keeps its tracking whatever the replica says now (it may have failed
      // over there, and replicate back to this host next): dropping it would cost a full copy.
      resumeDelayed("does not take the machine now (" + m.reason() + "); if it failed over there, reverse"
          + " replication from it makes this host its replica");
      return;
    }
    if (enabling != null) {
      CompletableFuture<Void> f = enabling;
      engine.dropPrimary(this);
      f.completeExceptionally(m.status() == Message.EnableStatus.NOT_AUTHORIZED
          ? new NotAuthorizedException(text) : new ReplicaException(text));
    } else {
      toError(text);
    }
  }

  /**
   * Reverse replication after an unplanned failover was accepted: the other side holds what it had
   * when it stopped, so the disks are compared and what differs is sent. When both sides know what
   * they changed since a cycle they share, only those blocks are compared.
   */
  private void acceptedReverseAfterUnplanned(long held) {
    CompletableFuture<Void> f = enabling;
    enabling = null;
    engine.adoptPrimary(this);
    boolean narrow = narrowsReverse(held);
    if (narrow) {
      for (DiskTracker t : tracker.disks()) {
        for (long[] ranges : theirChanges.get(t.id)) {
          for (int i = 0; i < ranges.length; i += 2) {
            t.markDirty(ranges[i], ranges[i + 1]);
          }
        }
      }
    }
    theirChanges.clear();
    theirRanges = 0;
    theirChangesOverflow = false;
    reverseBase = null;
    lastAcked = held;
    firstSent = nextCycle;
    initialReplicationDone();
    resynchronize(narrow);
    f.complete(null);
  }

  /** The replica accepted this host again after a restart of this host. */
  private void acceptedAfterRestart(long held) {
    // The activity log's extents are dirty, the rest the replica has.
    CompletableFuture<Void> f = enabling;
    enabling = null;
    engine.adoptPrimary(this);
    if (held < lastAcked) {
      initialReplicationDone();
      resynchronizationRequired("replica server " + link.endpoint + " holds cycle " + held
          + " but acknowledged cycle " + lastAcked);
    } else if (held < 0) {
      // No first copy ever completed: the replica holds nothing to build on, so the initial
      // replication is still to do (startInitialReplication starts it again).
      replicaHoldsData = false;
    } else {
      lastAcked = held; // a cycle whose acknowledgement the crash lost is ours
      firstSent = nextCycle;
      initialReplicationDone();
    }
    f.complete(null);
  }

  /** The replica accepted the machine for the first time, or as a planned failover's reversal. */
  private void acceptedFirst(long held) {
    CompletableFuture<Void> f = enabling;
    if (reverseOf instanceof ReverseOf.Planned p && held != p.cycle()) {
      engine.dropPrimary(this);
      f.completeExceptionally(new ReplicaException("reverse replication of " + vm.id() + " to " + link.endpoint
          + " found cycle " + held + " there instead of cycle " + p.cycle() + "; the disks differ"));
      return;
    }
    replicaHoldsData = held >= 0;
    enabling = null;
    engine.adoptPrimary(this);
    if (reverseOf instanceof ReverseOf.Planned) {
      // Both sides hold the disks at the failover's cycle: replicate changes from there.
      replicaHoldsData = false;
      lastAcked = held;
      firstSent = held + 1;
      initialReplicationDone();
    }
    f.complete(null);
  }

  /** An accepted relationship connected again: the replica says which cycle it holds. */
  private void reconnected(long held) {
    Cycle open = inflight;
    if (open != null && open.exported && held >= open.number) {
      // The replica imported the exported cycle.
      inflight = null;
      lastAcked = held;
      tracker.cycleAcknowledged();
      stats.initialReplication(open.checksum.payloadBytes(), open.cutTime, engine.clock().nanoTime());
      initialReplicationDone();
      updateHealth();
      return;
    }
    if (firstSent >= 0 && held >= firstSent) {
      // A cycle of ours whose acknowledgement was lost; its blocks were merged back, so the next
      // cycle from this base brings the replica up to date.
      if (held > lastAcked) {
        long previous = lastAcked;
        lastAcked = held;
        if (previous < 0) {
          initialReplicationDone();
        }
      }
    } else if (lastAcked >= 0 && held < lastAcked) {
      resynchronizationRequired("replica server " + link.endpoint + " holds cycle " + held
          + " but acknowledged cycle " + lastAcked);
      return;
    }
    updateHealth();
    if (state == ReplicationState.WAITING_FOR_INITIAL_REPLICATION && initialStart == null) {
      startCycle();
    }
  }

  /** A former primary's changes since the last cycle it had acknowledged, before it answers. */
  private void onChangedRanges(Message.ChangedRanges m) {
    if (enabling == null || !(reverseOf instanceof ReverseOf.Unplanned)
        || tracker.disks().stream().noneMatch(t -> t.id.equals(m.disk()))) {
      LOG.warn("ignored changed ranges of {} disk {} outside an unplanned reverse replication", vm.id(), m.disk());
      return;
    }
    List<long[]> parts = theirChanges.computeIfAbsent(m.disk(), k -> new ArrayList<>());
    theirRanges += m.ranges().length / 2;
    if (theirRanges > THEIR_RANGES_MAX) {
      theirChangesOverflow = true; // so scattered that comparing every block is as cheap
      return;
    }
    parts.add(m.ranges());
  }

  /**
   * Whether reverse replication after an unplanned failover may compare only the blocks either
   * side changed. The cycles decide: the other side must have acknowledged at least the cycle
   * before the one these disks hold (the one after it it still tracks as unacknowledged), and no
   * cycle these disks never received; and both sides must know their changes for every disk.
   */
  private boolean narrowsReverse(long heldThere) {
    ReplicaRelationship.ReverseBase base = reverseBase;
    if (base == null) {
      LOG.info("reverse replication of {} compares every block: the changes since the failover are not known"
          + " (the host restarted since)", vm.id());
      return false;
    }
    if (theirChangesOverflow || tracker.disks().stream().anyMatch(t -> !theirChanges.containsKey(t.id))) {
      LOG.info("reverse replication of {} compares every block: {} did not say what it changed", vm.id(),
          link.endpoint);
      return false;
    }
    if (heldThere < base.appliedCycle() - 1 || heldThere > base.journaledCycle()) {
      LOG.info("reverse replication of {} compares every block: {} acknowledged cycle {}, these disks hold"
          + " cycle {} and received up to {}", vm.id(), link.endpoint, heldThere, base.appliedCycle(),
          base.journaledCycle());
      return false;
    }
    return true;
  }

  // ---- operations

  public CompletableFuture<Void> startInitialReplication() {
    Instant now = engine.clock().instant();
    Instant at = settings.initialReplicationStartTime().orElse(now);
    CompletableFuture<Void> done = new CompletableFuture<>();
    initialReplication = done;
    setState(ReplicationState.WAITING_FOR_INITIAL_REPLICATION, at.isAfter(now)
        ? "initial replication scheduled for " + at : "initial replication started");
    scheduleTick();
    if (at.isAfter(now)) {
      initialStart = engine.scheduler().schedule(() -> engine.runLocked(() -> {
        initialStart = null;
        if (state == ReplicationState.WAITING_FOR_INITIAL_REPLICATION && inflight == null) {
          startCycle();
        }
      }), Duration.between(now, at));
    } else {
      startCycle();
    }
    return done;
  }

  public void suspend() {
    setState(ReplicationState.SUSPENDED, "suspended by the operator");
  }

  public void resume() {
    setState(lastAcked >= 0 ? ReplicationState.REPLICATING
        : initialReplication != null ? ReplicationState.WAITING_FOR_INITIAL_REPLICATION
        : ReplicationState.READY_FOR_INITIAL_REPLICATION, "resumed by the operator");
    if (state == ReplicationState.WAITING_FOR_INITIAL_REPLICATION && inflight == null) {
      startCycle();
    }
  }

  public void remove() {
    cancelTimers();
    tracker.release();
    inflight = null;
    if (initialReplication != null && !initialReplication.isDone()) {
      initialReplication.completeExceptionally(new ReplicaException(
          "replication of virtual machine " + vm.id() + " was removed before initial replication completed"));
    }
  }

  /** The operator removed replication before the replica server accepted it: the enable's caller learns so. */
  public void removedWhileEnabling() {
    CompletableFuture<Void> f = enabling;
    enabling = null;
    if (f != null && !f.isDone()) {
      f.completeExceptionally(new ReplicaException("replication of virtual machine " + vm.id() + " ('" + vm.name()
          + "') was removed before replica server " + link.endpoint + " accepted it"));
    }
  }

  void cancelTimers() {
    if (timer != null) {
      timer.cancel();
      timer = null;
    }
    if (initialStart != null) {
      initialStart.cancel();
      initialStart = null;
    }
    bandwidth.cancel();
    verify.stop(state);
  }

  // ---- cycles

  /** Sends what the connection takes of the cycle in flight; resumes when it is writable again. */
  void pump() {
    Cycle c = inflight;
    Connection conn = connection;
    if (c == null || conn == null || c.sentAll || c.media != null
        || state == ReplicationState.RESYNCHRONIZE_SUSPENDED) {
      return;
    }
    sender.pump(c, conn);
  }

  private void onHashResponse(Message.HashResponse m) {
    Cycle c = inflight;
    if (c != null && c.resync && m.cycle() == c.number && sender.onHashResponse(c, m)) {
      pump();
    }
  }

  private void scheduleTick() {
    if (timer != null) {
      timer.cancel();
    }
    timer = engine.scheduler().schedule(() -> engine.runLocked(this::tick), settings.replicationFrequency());
  }

  /** Each replication interval: watch the cycle in flight, then start what is due. */
  private void tick() {
    scheduleTick();
    verify.tick();
    stats.rollIfDue(engine.clock().instant(), engine.monitoringInterval());
    Cycle c = inflight;
    if (c != null && c.media != null) {
      return; // an export to media is being written
    }
    if (c != null && c.exported) {
      if (connection != null && accepted) {
        connected(connection); // asks again what the replica holds: the import may have happened
      }
      return;
    }
    resetWhenStalled(c);
    if (state == ReplicationState.REPLICATING && planned == null) {
      resynchronizeWhenPastThreshold();
    }
    if (state == ReplicationState.WAITING_FOR_START_RESYNCHRONIZE && settings.autoResynchronization()
        .map(w -> w.contains(engine.clock().instant())).orElse(false)) {
      resynchronize();
      return;
    }
    startWhatIsDue();
    updateHealth();
  }

  /** A lost message or a stalled replica: the connection starts over. */
  private void resetWhenStalled(@Nullable Cycle c) {
    if (c != null && state != ReplicationState.RESYNCHRONIZE_SUSPENDED && !bandwidth.throttled()
        && engine.clock().nanoTime() - c.progressNanos > ANSWER_TIMEOUT.toNanos()) {
      String reason = "no progress on cycle " + c.number + " for " + ANSWER_TIMEOUT.toSeconds()
          + " s; reconnecting to " + link.endpoint;
      failInflight(reason);
      link.reset(reason);
    }
    if (connection != null && !accepted
        && engine.clock().nanoTime() - connectedNanos > ANSWER_TIMEOUT.toNanos()) {
      link.reset("replica server " + link.endpoint + " did not answer the enable request of " + vm.id()
          + " within " + ANSWER_TIMEOUT.toSeconds() + " s; reconnecting");
    }
  }

  /** More changes pending than the threshold's share of the disks: a resynchronization is cheaper. */
  private void resynchronizeWhenPastThreshold() {
    long total = 0;
    for (DiskTracker t : tracker.disks()) {
      total += t.disk.sizeBytes();
    }
    if (tracker.pendingBytes() > settings.resynchronizationThreshold() * total) {
      failInflight("the pending changes passed the resynchronization threshold");
      resynchronizationRequired(tracker.pendingBytes() + " bytes of changes are pending, more than "
          + Math.round(settings.resynchronizationThreshold() * 100) + " % of the disks");
    }
  }

  /** Starts the cycle the state calls for, or counts a missed one. */
  private void startWhatIsDue() {
    if (state == ReplicationState.RESYNCHRONIZING && inflight == null) {
      startCycle(); // a failed resynchronization starts again
    } else if (state == ReplicationState.WAITING_FOR_INITIAL_REPLICATION) {
      if (inflight == null && initialStart == null) {
        startCycle(); // a failed initial replication starts again
      }
    } else if (state == ReplicationState.REPLICATING && planned == null) {
      String reason = inflight != null ? "the previous cycle " + inflight.number + " is still in transfer"
          : !accepted ? "the replica server " + link.endpoint + " is not reachable"
              + (link.lastFailure() == null ? "" : " (" + link.lastFailure() + ")")
          : null;
      if (reason == null) {
        startCycle();
      } else {
        stats.missed();
        engine.emit(new ReplicationEvent.CycleMissed(vm.id(), engine.clock().instant(), reason));
      }
    } else if (state == ReplicationState.REPLICATING && inflight == null) {
      startCycle(); // a planned failover's final cycle failed or could not start: send it again
    }
  }

  private void startCycle() {
    if (!accepted || connection == null || inflight != null || quiescing) {
      return;
    }
    RecoveryPointType point = pointDue();
    if (point != RecoveryPointType.APPLICATION_CONSISTENT) {
      cut(point);
      return;
    }
    // quiesce, cut, thaw: the guest's applications are consistent at the cut
    quiescing = true;
    CompletableFuture<Void> quiesced;
    try {
      quiesced = engine.consistency().quiesce(vm.id());
    } catch (RuntimeException e) {
      quiesced = CompletableFuture.failedFuture(e);
    }
    quiesced.whenComplete((ok, failure) -> engine.hop(() -> {
      quiescing = false;
      try {
        if (failure != null) {
          engine.emit(new ReplicationEvent.ReplicationFailed(vm.id(), engine.clock().instant(),
              "cannot quiesce virtual machine " + vm.id() + " for an application-consistent recovery point ("
                  + Failures.describe(failure) + "); this point is crash-consistent"));
        }
        if (accepted && connection != null && inflight == null) {
          cut(failure == null ? RecoveryPointType.APPLICATION_CONSISTENT : RecoveryPointType.STANDARD);
        }
      } finally {
        engine.consistency().thaw(vm.id());
      }
    }, () -> engine.consistency().thaw(vm.id()))); // every quiesce is thawed, even after a close
  }

  /** Whether the next cycle is to become a recovery point, and of which type. */
  private @Nullable RecoveryPointType pointDue() {
    RecoveryHistory history = settings.recoveryHistory();
    if (history.isLatestOnly() || lastAcked < 0) {
      return null;
    }
    Instant now = engine.clock().instant();
    if (nextPointAt != null && now.isBefore(nextPointAt)) {
      return null;
    }
    int every = history.applicationConsistentEvery();
    return every > 0 && pointsTaken % every == every - 1
        ? RecoveryPointType.APPLICATION_CONSISTENT : RecoveryPointType.STANDARD;
  }

  private void cut(@Nullable RecoveryPointType point) {
    Connection connection = Objects.requireNonNull(this.connection);
    boolean initial = lastAcked < 0;
    // Without a trustworthy change set (lost tracking, a diverged replica), compare every block.
    boolean resync = resyncPending || initial && (replicaHoldsData
        || settings.initialReplicationMethod() == io.replica.api.InitialReplicationMethod.EXISTING_COPY);
    long blocks;
    try {
      if (initial && tracker.tracksCrashes()) {
        // Writes from before tracking began are in no hot extent: make them durable before they are
        // sent, or a crash of this host could lose what the replica already holds.
        tracker.flush();
      }
      blocks = tracker.cut(resync ? narrowResync ? VmTracker.CutScope.CHANGES : VmTracker.CutScope.EVERY_BLOCK
          : initial ? VmTracker.CutScope.ALLOCATED : VmTracker.CutScope.CHANGES);
    } catch (IOException e) {
      stats.error();
      engine.emit(new ReplicationEvent.ReplicationFailed(vm.id(), engine.clock().instant(),
          "cannot read the allocation of the disks of " + vm.id() + ": " + Failures.describe(e)));
      return;
    }
    if (firstSent < 0) {
      firstSent = nextCycle;
    }
    Cycle c = new Cycle(nextCycle++, resync ? heldByReplica : lastAcked, engine.clock().instant(),
        engine.clock().nanoTime(), blocks * tracker.trackingBlockSizeBytes(), tracker.disks(), point, resync);
    c.initial = initial;
    inflight = c;
    engine.emit(new ReplicationEvent.CycleStarted(vm.id(), c.cutTime, c.number, c.cutTime, blocks));
    if (initial && !resync && settings.initialReplicationMethod() == io.replica.api.InitialReplicationMethod.EXPORT_TO_MEDIA) {
      new MediaExport(engine, vm.id(), tracker.trackingBlockSizeBytes(),
          settings.initialReplicationExportLocation().orElseThrow(), sender, x -> inflight == x, () -> state,
          this::failInflight).start(c);
      return;
    }
    connection.send(new Message.CycleBegin(vm.id(), c.number, c.base, c.cutTime, point, resync));
    pump();
  }

  private void onAck(Message.CycleAck m) {
    Cycle c = inflight;
    if (c == null || m.cycle() != c.number || !c.sentAll) {
      return;
    }
    inflight = null;
    lastAcked = c.number;
    tracker.cycleAcknowledged();
    if (c.resync) {
      verify.resynchronized(c.number);
    }
    try {
      tracker.cool();
      engine.persistPrimary(this);
    } catch (IOException e) {
      engine.emit(new ReplicationEvent.ReplicationFailed(vm.id(), engine.clock().instant(),
          "cannot update the primary state of " + vm.id() + " (" + Failures.describe(e) + "); a crash of this host"
              + " would send more blocks again than needed"));
    }
    if (c.point != null) {
      pointsTaken++;
      nextPointAt = c.cutTime.plus(settings.recoveryHistory().pointInterval());
    }
    long latency = engine.clock().nanoTime() - c.cutNanos;
    if (c.initial) {
      stats.initialReplication(c.checksum.payloadBytes(), c.cutTime, engine.clock().nanoTime());
    } else {
      stats.success(c.checksum.payloadBytes(), latency, c.cutTime, engine.clock().nanoTime());
    }
    engine.emit(new ReplicationEvent.CycleCompleted(vm.id(), engine.clock().instant(),
        ReplicationMode.PRIMARY, c.number, c.doneBytes / tracker.trackingBlockSizeBytes(), c.checksum.payloadBytes(),
        Duration.ofNanos(latency)));
    if (c.resync) {
      resyncPending = false;
      narrowResync = false;
      engine.emit(new ReplicationEvent.StateChanged(vm.id(), engine.clock().instant(), ReplicationMode.PRIMARY,
          state, state, "resynchronization compared " + c.doneBytes + " bytes and sent "
              + c.checksum.payloadBytes() + " that differed"));
      if (state == ReplicationState.RESYNCHRONIZING) {
        error = null;
        setState(ReplicationState.REPLICATING, "resynchronization completed");
      }
    }
    if (c.initial) {
      initialReplicationDone();
    }
    if (planned != null && state == ReplicationState.REPLICATING) {
      finishPreparing();
    }
    verify.acknowledged(lastAcked);
    updateHealth();
  }

  // ---- online verify

  /** Starts an online verify, or joins the one running. */
  public CompletableFuture<VerificationResult> verify() {
    return verify.start(state);
  }

  /** The relationship as its online verify sees it. */
  private final class Verifying implements OnlineVerify.Owner {
    @Override
    public boolean replicating() {
      return state == ReplicationState.REPLICATING && changesKnown();
    }

    @Override
    public @Nullable Connection connection() {
      return accepted ? connection : null;
    }

    @Override
    public long lastAcked() {
      return lastAcked;
    }

    @Override
    public long nextCycle() {
      return nextCycle;
    }

    @Override
    public void repair() {
      if (state == ReplicationState.REPLICATING) {
        resynchronize(true);
      }
      updateHealth();
    }
  }

  // ---- planned failover

  /**
   * Starts a planned failover: the machine is off; the changes still pending go in final cycles,
   * then the replica is told to fail over at the last one and to replicate back to this host.
   */
  public CompletableFuture<Void> plannedFailover(ReplicaServerSettings mine) {
    planned = new CompletableFuture<>();
    reverseServer = mine;
    finalFrom = nextCycle;
    if (inflight == null) {
      startCycle();
    }
    return planned;
  }

  /** A cycle was acknowledged during a planned failover: another final one, or done. */
  private void finishPreparing() {
    if (lastAcked < finalFrom || tracker.pendingBytes() > 0) {
      startCycle();
      return;
    }
    setState(ReplicationState.PREPARED_FOR_FAILOVER, "final cycle " + lastAcked + " is on the replica");
    cancelTimers();
    ReplicaServerSettings mine = java.util.Objects.requireNonNull(reverseServer);
    io.replica.api.AuthenticationType auth = mine.allowedAuthenticationTypes().contains(settings.authenticationType())
        ? settings.authenticationType() : mine.allowedAuthenticationTypes().iterator().next();
    java.util.Objects.requireNonNull(connection).send(new Message.FailoverPrepared(vm.id(), lastAcked,
        engine.hostName(), mine.port(auth), auth, settings.replicationFrequency()));
  }

  private void onFailoverCompleted(Message.FailoverCompleted m) {
    CompletableFuture<Void> f = planned;
    if (f == null || m.succeeded()) {
      return; // success completes when the reverse replication arrives
    }
    planned = null;
    setState(ReplicationState.REPLICATING, "planned failover refused by the replica: " + m.reason());
    scheduleTick();
    f.completeExceptionally(new ReplicaException("replica server " + link.endpoint + " refused the planned"
        + " failover of " + vm.id() + ": " + m.reason()));
  }

  /**
   * A relationship resumed from this host's saved state cannot reach its replica yet: it stays,
   * tracking changes, and its link keeps reconnecting; the caller of the enable learns why it is
   * not replicating yet. {@code why} completes "replica server X ...".
   */
  private void resumeDelayed(String why) {
    CompletableFuture<Void> f = enabling;
    if (f != null && !f.isDone()) {
      f.completeExceptionally(new ReplicaException("replication of virtual machine " + vm.id() + " ('" + vm.name()
          + "') resumed from this host's saved state, but replica server " + link.endpoint + " " + why
          + "; changes are tracked, and replication goes on by itself once it answers"));
      engine.emit(new ReplicationEvent.ReplicationFailed(vm.id(), engine.clock().instant(),
          "replica server " + link.endpoint + " " + why));
    }
  }

  /** Resumes what a previous run of this host persisted. */
  void resumeFrom(PrimaryRecord record) {
    resumed = true;
    lastAcked = record.lastAckedCycle();
    nextCycle = Math.max(nextCycle, record.nextCycle());
  }

  public PrimaryRecord record() {
    List<ReplicaRecord.Disk> disks = new ArrayList<>();
    for (DiskTracker t : tracker.disks()) {
      disks.add(new ReplicaRecord.Disk(t.id.toString(), t.disk.sizeBytes(), t.disk.logicalSectorSizeBytes()));
    }
    return new PrimaryRecord(PrimaryRecord.VERSION, vm.id().toString(), settings.replicaServer(),
        settings.replicaServerPort(), tracker.trackingBlockSizeBytes(), disks, lastAcked, nextCycle);
  }

  /** Cycle numbers go on after {@code cycle}, the last one the machine's disks here received. */
  public void continueAfter(long cycle) {
    nextCycle = Math.max(nextCycle, cycle + 1);
  }

  /** The old replica replicates back: this host is now the replica. */
  public void reversed() {
    CompletableFuture<Void> f = planned;
    planned = null;
    if (f != null) {
      f.complete(null);
    }
  }

  private void initialReplicationDone() {
    replicaHoldsData = false;
    verify.scheduleFromSettings();
    if (state != ReplicationState.SUSPENDED) {
      setState(ReplicationState.REPLICATING, "initial replication completed");
    }
    scheduleTick();
    if (initialReplication != null) {
      initialReplication.complete(null);
    }
  }

  private void onRejected(Message.CycleRejected m) {
    Cycle c = inflight;
    if (c == null || m.cycle() != c.number) {
      return;
    }
    if (m.resynchronizationRequired()) {
      failInflight("replica server " + link.endpoint + " rejected cycle " + m.cycle() + ": " + m.reason());
      resynchronizationRequired("replica server " + link.endpoint + " rejected cycle " + m.cycle() + ": " + m.reason());
    } else {
      failInflight("replica server " + link.endpoint + " rejected cycle " + m.cycle() + ": " + m.reason());
    }
  }

  private void failInflight(String reason) {
    if (inflight == null) {
      return;
    }
    inflight = null;
    tracker.cycleFailed();
    stats.error();
    engine.emit(new ReplicationEvent.ReplicationFailed(vm.id(), engine.clock().instant(), reason));
  }

  /** The replica diverged: nothing more replicates until a resynchronization compares the disks. */
  private void resynchronizationRequired(String reason) {
    error = reason + "; resynchronization required";
    setState(ReplicationState.WAITING_FOR_START_RESYNCHRONIZE, error);
  }

  /** Starts comparing every block by hash and sending the ones that differ (Resume-VMReplication -Resynchronize). */
  public void resynchronize() {
    resynchronize(false);
  }

  /** {@code narrow}: compare only the blocks tracked as changed, not every block. */
  private void resynchronize(boolean narrow) {
    resyncPending = true;
    narrowResync = narrow;
    setState(ReplicationState.RESYNCHRONIZING, "resynchronization started");
    startCycle();
  }

  /** Pauses a resynchronization mid-way; {@link #resumeResynchronization()} goes on where it stopped. */
  public void suspendResynchronization() {
    setState(ReplicationState.RESYNCHRONIZE_SUSPENDED, "resynchronization suspended");
  }

  public void resumeResynchronization() {
    Cycle c = inflight;
    if (!resyncPending && (c == null || !c.resync)) {
      // Its last cycle was acknowledged while it was suspended: nothing is left to compare.
      error = null;
      setState(ReplicationState.REPLICATING, "resynchronization completed while suspended; replication resumed");
      return;
    }
    setState(ReplicationState.RESYNCHRONIZING, "resynchronization resumed");
    if (c != null) {
      c.progressNanos = engine.clock().nanoTime();
      pump();
    } else {
      startCycle();
    }
  }

  /** Stops a resynchronization; it must be started again before replication goes on. */
  public void cancelResynchronization() {
    failInflight("resynchronization cancelled by the operator");
    resyncPending = false;
    setState(ReplicationState.WAITING_FOR_START_RESYNCHRONIZE, "resynchronization cancelled; start it again to"
        + " replicate");
  }

  private void toError(String reason) {
    error = reason;
    failInflight(reason);
    setState(ReplicationState.ERROR, reason);
    if (initialReplication != null && !initialReplication.isDone()) {
      initialReplication.completeExceptionally(new ReplicaException(reason));
    }
  }

  private void setState(ReplicationState to, String reason) {
    ReplicationState from = state;
    if (from == to) {
      return;
    }
    StateTable.PRIMARY.check(vm.id(), from, to, reason);
    state = to;
    engine.emit(new ReplicationEvent.StateChanged(vm.id(), engine.clock().instant(),
        ReplicationMode.PRIMARY, from, to, reason));
    verify.stateChanged(from, to, reason);
    updateHealth();
  }

  // ---- health and statistics

  public ReplicationHealth health() {
    HealthReport report = new HealthReport();
    if (state == ReplicationState.ERROR) {
      report.critical(error == null ? "replication stopped on an error" : error);
    } else if (state != ReplicationState.SUSPENDED && state != ReplicationState.READY_FOR_INITIAL_REPLICATION
        && !link.isConnected()) {
      report.critical("cannot send changes: the replica server " + link.endpoint + " is not reachable"
          + (link.lastFailure() == null ? "" : " (" + link.lastFailure() + ")"));
    }
    String finding = verify.finding();
    if (finding != null) {
      report.critical(finding);
    }
    if (state == ReplicationState.SUSPENDED) {
      report.warning("replication is suspended");
    }
    report.initialReplication(lastAcked >= 0).missedCycles(stats);
    if (lastAcked >= 0 && HealthReport.stale(stats, engine.clock().nanoTime())) {
      report.warning("the last successful replication was more than an hour ago, at " + stats.lastReplicationTime);
    }
    return report.health();
  }

  void updateHealth() {
    healthWatch.update(health());
  }

  public ReplicationStatistics statistics() {
    return stats.snapshot(engine, vm.id(), tracker.pendingBytes(), lastAcked);
  }

  /**
   * Whether the changes tracked since the last acknowledged cycle are all this side wrote since:
   * not while a resynchronization is due or running, nor before the first acknowledgement.
   */
  public boolean changesKnown() {
    return lastAcked >= 0 && !resyncPending && state != ReplicationState.WAITING_FOR_START_RESYNCHRONIZE
        && state != ReplicationState.RESYNCHRONIZING && state != ReplicationState.RESYNCHRONIZE_SUSPENDED
        && state != ReplicationState.WAITING_FOR_INITIAL_REPLICATION;
  }

  public long lastAcked() {
    return lastAcked;
  }

  static List<VmDisk> replicatedDisks(VirtualMachine vm, ReplicationSettings settings) {
    if (settings.replicatedDisks().isEmpty()) {
      return vm.disks();
    }
    return vm.disks().stream().filter(d -> settings.replicatedDisks().contains(d.id())).toList();
  }
}
