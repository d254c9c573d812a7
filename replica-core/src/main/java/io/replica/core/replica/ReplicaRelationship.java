package io.replica.core.replica;

import io.replica.api.DiskId;
import io.replica.api.NotFoundException;
import io.replica.api.RecoveryPoint;
import io.replica.api.RecoveryPointType;
import io.replica.api.RecoveryPointView;
import io.replica.api.ReplicationHealth;
import io.replica.api.ReplicationMode;
import io.replica.api.ReplicationState;
import io.replica.api.ReplicationStatistics;
import io.replica.api.VirtualMachine;
import io.replica.api.VmDisk;
import io.replica.api.VmId;
import io.replica.api.WrongStateException;
import io.replica.api.event.ReplicationEvent;
import io.replica.core.context.Failures;
import io.replica.core.context.StateTable;
import io.replica.core.failover.FailedOverDisk;
import io.replica.core.failover.PointCopies;
import io.replica.core.health.HealthReport;
import io.replica.core.health.HealthWatch;
import io.replica.core.health.Stats;
import io.replica.core.history.OverlayDisk;
import io.replica.core.history.PointDisk;
import io.replica.core.history.UndoHistory;
import io.replica.core.journal.CycleJournal;
import io.replica.core.journal.JournalRecord;
import io.replica.core.testing.Mutation;
import io.replica.core.tracking.BlockSet;
import io.replica.core.tracking.DiskTracker;
import io.replica.core.tracking.VmTracker;
import io.replica.core.verify.BlockHashes;
import io.replica.spi.storage.ByteRange;
import io.replica.spi.storage.StateStore;
import io.replica.spi.storage.StorageLocation;
import io.replica.spi.storage.VirtualDisk;
import io.replica.spi.transport.Connection;
import io.replica.spi.transport.Message;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The replica side of one machine: receives cycles into the journal, acknowledges them once
 * durable, applies them, and serves the latest recovery point. Guarded by the engine lock, except
 * reads through recovery point views, which take {@link #pointLock}.
 */
public final class ReplicaRelationship {
  private static final Logger LOG = LoggerFactory.getLogger(ReplicaRelationship.class);
  /** The most blocks one hash request may cover: a 1 MiB answer. */
  private static final long HASH_REQUEST_BLOCKS_MAX = 65536;

  public final VmId vm;
  public final String location;
  private final StorageLocation storage;
  private final ReplicaHost engine;
  private ReplicaRecord record;
  private final Map<DiskId, VirtualDisk> disks;
  public final Stats stats;
  /** Apply holds it for writing; reads of a recovery point view hold it for reading. */
  private final ReentrantReadWriteLock pointLock = new ReentrantReadWriteLock();
  private volatile long lastApplied;
  private @Nullable Instant lastAppliedCut;
  private long lastCommitted;
  private ReplicationState state;
  private @Nullable String error;
  private final HealthWatch healthWatch;
  private final CycleReceiver receiver;
  /** Committed cycles not applied yet, oldest first; they wait while a recovery point view is open. */
  private final ArrayDeque<Long> pending = new ArrayDeque<>();
  private final AtomicInteger openViews = new AtomicInteger();
  private final CycleApplier applier;
  private final PointCopies copies;
  private final UndoHistory history;
  private final BlockHashes hashes = new BlockHashes();
  private @Nullable Connection primaryConnection;
  /** The running test failover, if any. */
  private PointCopies.@Nullable Copy test;
  /** The failover awaiting commit or cancel, if any. */
  private PointCopies.@Nullable Copy failover;
  /** After a committed failover: the disks the machine runs on here, which remember what it writes. */
  private @Nullable Map<DiskId, FailedOverDisk> failedOver;
  /** While reverse replication starts: the disks handed over to its change tracking. */
  private @Nullable Map<DiskId, FailedOverDisk> handedOver;
  /** After a committed failover: the last cycle acknowledged to the old primary, applied or not. */
  private long journaledUpTo = -1;
  private ReplicationState previousState = ReplicationState.REPLICATING;
  private boolean applyScheduled;
  /** Bytes the applied cycles covered since {@link #firstCut}, for the history storage estimate. */
  private long churnBytes;
  private @Nullable Instant firstCut;

  public ReplicaRelationship(ReplicaHost engine, String location, StorageLocation storage, ReplicaRecord record,
      Map<DiskId, VirtualDisk> disks) throws IOException {
    this.engine = engine;
    this.vm = VmId.parse(record.vm());
    this.location = location;
    this.storage = storage;
    this.record = record;
    this.disks = disks;
    this.lastApplied = record.lastAppliedCycle();
    this.lastCommitted = record.lastAppliedCycle();
    this.lastAppliedCut = record.lastAppliedCutTime() == null ? null : Instant.parse(record.lastAppliedCutTime());
    this.stats = new Stats(engine.clock().instant());
    this.healthWatch = new HealthWatch(engine, vm);
    this.history = new UndoHistory(storage.state(), vm, record.trackingBlockSizeBytes(), disks);
    this.applier = new CycleApplier(vm, storage.state(), history, disks, pointLock);
    this.receiver = new CycleReceiver(vm, new Receiver());
    this.copies = new PointCopies(vm, storage, disks, new PointCopies.Points() {
      @Override
      public UndoHistory.Point pin(RecoveryPoint point) throws IOException {
        return ReplicaRelationship.this.pin(point);
      }

      @Override
      public void unpin(UndoHistory.Point kept) {
        ReplicaRelationship.this.unpin(kept);
      }

      @Override
      public VirtualDisk view(RecoveryPoint point, UndoHistory.Point kept, DiskId disk, VirtualDisk base) {
        return new PointDisk(base, history, pointLock, point, kept, disk, () -> lastApplied);
      }
    });
    this.history.load(record.points());
    this.stats.lastReplicationTime = lastAppliedCut;
    this.stats.lastSuccessNanos = engine.clock().nanoTime();
    this.state = record.resynchronizationRequired() ? ReplicationState.ERROR
        : lastApplied < 0 ? ReplicationState.WAITING_FOR_INITIAL_REPLICATION : ReplicationState.REPLICATING;
    if (record.resynchronizationRequired()) {
      error = "resynchronization required: a cycle arrived out of sequence";
    }
  }

  public static String recordName(VmId vm) {
    return vm + "/replica.json";
  }

  static String diskName(VmId vm, DiskId disk) {
    return vm + "/disks/" + disk;
  }

  public ReplicaRecord record() {
    return record;
  }

  public ReplicationState state() {
    return state;
  }

  long lastCommitted() {
    return lastCommitted;
  }

  public Map<DiskId, VirtualDisk> disks() {
    return disks;
  }

  /** Connections the primary has since replaced by a newer one (weakly held). */
  private final Set<Connection> replaced = Collections.newSetFromMap(new java.util.WeakHashMap<>());

  /** A primary (re)connected for this machine, possibly another of the same trust group. */
  public void primaryConnected(String primaryHost, Connection c) throws IOException {
    Connection before = primaryConnection;
    if (before != null && before != c) {
      replaced.add(before);
    }
    primaryConnection = c;
    if (!primaryHost.equals(record.primaryHost())) {
      record = record.withPrimary(primaryHost, record.resynchronizationRequired());
      storage.state().write(recordName(vm), record.toJson());
    }
  }

  // ---- receiving

  public void onMessage(Connection c, Message m) {
    if (replaced.contains(c)) {
      // Still queued from a connection the primary has replaced: its cycles are stale, and a
      // late one must not displace the cycle the primary sends now.
      return;
    }
    try {
      if (m instanceof Message.CycleBegin b) {
        receiver.onBegin(c, b);
      } else if (m instanceof Message.BlockData d) {
        receiver.onBlock(c, d);
      } else if (m instanceof Message.ZeroRun z) {
        receiver.onZero(c, z);
      } else if (m instanceof Message.CycleEnd e) {
        receiver.onEnd(c, e);
      } else if (m instanceof Message.FailoverPrepared f) {
        onFailoverPrepared(c, f);
      } else if (m instanceof Message.HashRequest h) {
        onHashRequest(c, h);
      } else if (m instanceof Message.VerifyRequest v) {
        onVerifyRequest(c, v);
      } else if (m instanceof Message.PowerStateReport p) {
        onPowerState(p.powerState(), false);
      }
    } catch (IOException e) {
      Receiving receiving = receiver.receiving();
      long cycle = receiving == null ? -1 : receiving.cycle;
      abandon();
      stats.error();
      String reason = "replica storage failed for virtual machine " + vm + ": " + Failures.describe(e);
      engine.emit(new ReplicationEvent.ReplicationFailed(vm, engine.clock().instant(), reason));
      c.send(new Message.CycleRejected(vm, cycle, reason, false));
    }
  }

  /** Applies pending cycles in a task of their own, unless a view holds the current point. */
  private void scheduleApply() {
    if (applyScheduled || pending.isEmpty() || openViews.get() > 0 || state == ReplicationState.ERROR) {
      return;
    }
    applyScheduled = true;
    engine.scheduler().execute(() -> engine.runLocked(() -> {
      applyScheduled = false;
      applyPending();
    }));
  }

  /** Applies the pending cycles in order; a failure keeps the rest for the next start. */
  void applyPending() {
    while (!pending.isEmpty() && openViews.get() == 0) {
      long cycle = engine.mutated(Mutation.APPLY_OUT_OF_ORDER) ? pending.pollLast() : pending.pollFirst();
      try {
        applier.apply(cycle, this::markApplied);
      } catch (IOException | RuntimeException failure) {
        // The cycle is durable in its journal: a restart applies it. Until then nothing more applies.
        pending.addFirst(cycle);
        stats.error();
        toError("cannot apply cycle " + cycle + " to the replica disks: " + Failures.describe(failure)
            + "; the journal is kept and is applied when the replica server restarts"
            + (applier.partlyApplied() >= 0 ? "; until then the latest recovery point is not offered, since the disks hold"
                + " part of cycle " + cycle : ""));
        return;
      }
    }
  }

  /** Takes the committed journals found at start as pending, raising what this replica holds. */
  void recovered(List<Long> committedCycles) {
    for (long cycle : committedCycles) {
      pending.add(cycle);
      lastCommitted = Math.max(lastCommitted, cycle);
    }
  }

  /** A connection closed: a transfer it carried cannot complete. */
  void connectionClosed(Connection c) {
    receiver.connectionClosed(c);
  }

  /** The hashes of the blocks the replica holds, for a resynchronizing cycle. */
  private void onHashRequest(Connection c, Message.HashRequest h) throws IOException {
    Receiving r = receiver.receiving();
    VirtualDisk d = disks.get(h.disk());
    int block = record.trackingBlockSizeBytes();
    if (r == null || r.cycle != h.cycle() || !r.resync || d == null || h.blockSizeBytes() != block
        || h.offsetBytes() < 0 || h.offsetBytes() % block != 0 || h.lengthBytes() <= 0
        || h.lengthBytes() > HASH_REQUEST_BLOCKS_MAX * block || h.offsetBytes() >= d.sizeBytes()) {
      protocolError(c, "hash request " + h + " does not fit the cycle in transfer of " + vm);
      abandon();
      return;
    }
    // The hashes must describe what the cycle will be applied to: everything committed is applied first.
    applyPending();
    if (!pending.isEmpty()) {
      abandon();
      c.send(new Message.CycleRejected(vm, h.cycle(), "the replica is still applying earlier cycles (a view"
          + " is open); the resynchronization starts again later", false));
      return;
    }
    byte[] out = hashRange(d, h.offsetBytes(), h.lengthBytes(), block);
    c.send(new Message.HashResponse(vm, h.cycle(), h.disk(), h.offsetBytes(), block, out));
  }

  /**
   * The hashes of the replica's latest recovery point, for an online verify: of the disk as it is
   * once every committed cycle is applied, which the answer names. Every block is read, allocated
   * or not, so a storage that misreports its allocation cannot hide a difference.
   */
  private void onVerifyRequest(Connection c, Message.VerifyRequest h) {
    VirtualDisk d = disks.get(h.disk());
    int block = record.trackingBlockSizeBytes();
    if (d == null || h.blockSizeBytes() != block || h.offsetBytes() < 0 || h.offsetBytes() % block != 0
        || h.lengthBytes() <= 0 || h.lengthBytes() > HASH_REQUEST_BLOCKS_MAX * block
        || h.offsetBytes() >= d.sizeBytes()) {
      protocolError(c, "verify request " + h + " does not fit the disks of " + vm);
      return;
    }
    String refusal = null;
    if (state == ReplicationState.ERROR || state == ReplicationState.FAILOVER_WAITING_COMPLETION
        || state == ReplicationState.FAILED_OVER || lastApplied < 0) {
      refusal = "virtual machine " + vm + " on " + engine.hostName() + " is " + state
          + (lastApplied < 0 ? " without a recovery point" : "");
    } else {
      applyPending();
      if (!pending.isEmpty()) {
        refusal = "the replica is still applying cycles (a recovery point view is open)";
      }
    }
    byte[] out = new byte[0];
    if (refusal == null) {
      try {
        out = hashRange(d, h.offsetBytes(), h.lengthBytes(), block);
      } catch (IOException e) {
        refusal = "cannot read replica disk " + h.disk() + ": " + Failures.describe(e);
      }
    }
    c.send(new Message.VerifyResponse(vm, h.request(), h.disk(), h.offsetBytes(), block, lastApplied, out,
        refusal == null ? "" : refusal));
  }

  /** The hashes of the blocks of {@code d} in a range (cut at the disk's end), read under the point lock. */
  private byte[] hashRange(VirtualDisk d, long offsetBytes, long lengthBytes, int block) throws IOException {
    long end = Math.min(d.sizeBytes(), offsetBytes + lengthBytes);
    int blocks = (int) ((end - offsetBytes + block - 1) / block);
    byte[] out = new byte[blocks * BlockHashes.HASH_BYTES];
    byte[] buf = new byte[block];
    pointLock.readLock().lock();
    try {
      for (int i = 0; i < blocks; i++) {
        long offset = offsetBytes + (long) i * block;
        int n = (int) Math.min(block, d.sizeBytes() - offset);
        d.read(offset, ByteBuffer.wrap(buf, 0, n));
        hashes.hash(buf, 0, n, out, i * BlockHashes.HASH_BYTES);
      }
    } finally {
      pointLock.readLock().unlock();
    }
    return out;
  }

  /** Drops a transfer in progress and whatever it journaled. */
  void abandon() {
    receiver.abandon();
  }

  // ---- applying

  /**
   * Records a cycle as applied, keeping it as a recovery point if the primary marked it so;
   * {@code coveredBytes} is what its blocks and zero runs span.
   */
  private void markApplied(long cycle, Instant cutTime, @Nullable RecoveryPointType point, long payloadBytes,
      long coveredBytes) throws IOException {
    long blocks = (coveredBytes + record.trackingBlockSizeBytes() - 1) / record.trackingBlockSizeBytes();
    if (point != null) {
      history.take(cycle, cutTime, point);
    }
    pruneHistory(cycle);
    churnBytes += coveredBytes;
    if (firstCut == null) {
      firstCut = cutTime;
    }
    record = record.applied(cycle, cutTime.toString(), history.records());
    storage.state().write(recordName(vm), record.toJson());
    boolean initial = lastApplied < 0;
    lastApplied = cycle;
    lastCommitted = Math.max(lastCommitted, cycle);
    lastAppliedCut = cutTime;
    Instant now = engine.clock().instant();
    long latency = Math.max(0, Duration.between(cutTime, now).toNanos());
    if (initial) {
      stats.initialReplication(payloadBytes, cutTime, engine.clock().nanoTime());
    } else {
      stats.success(payloadBytes, latency, cutTime, engine.clock().nanoTime());
    }
    engine.emit(new ReplicationEvent.CycleCompleted(vm, now, ReplicationMode.REPLICA, cycle, blocks,
        payloadBytes, Duration.ofNanos(latency)));
    if (state == ReplicationState.WAITING_FOR_INITIAL_REPLICATION) {
      setState(ReplicationState.REPLICATING, "initial replication completed");
    }
    updateHealth();
  }

  // ---- recovery points

  /** The kept points, oldest first; the latest applied cycle is always the last. */
  public List<RecoveryPoint> recoveryPoints() {
    Instant cut = lastAppliedCut;
    if (lastApplied < 0 || cut == null || state == ReplicationState.FAILED_OVER) {
      return List.of();
    }
    List<RecoveryPoint> out = new ArrayList<>();
    RecoveryPointType latestType = RecoveryPointType.STANDARD;
    for (UndoHistory.Point p : history.points()) {
      if (p.cycle == lastApplied) {
        latestType = p.type;
      } else {
        out.add(new RecoveryPoint(vm, p.cycle, p.cutTime, p.type));
      }
    }
    if (applier.partlyApplied() < 0) {
      out.add(new RecoveryPoint(vm, lastApplied, cut, latestType));
    }
    return out;
  }

  public RecoveryPointView open(RecoveryPoint point) {
    if (!recoveryPoints().contains(point)) {
      throw new NotFoundException("recovery point of cycle " + point.cycle() + " of virtual machine " + vm
          + " is not kept; kept points: " + recoveryPoints());
    }
    UndoHistory.Point kept = point.cycle() == lastApplied ? null : history.find(point.cycle());
    Map<DiskId, VirtualDisk> views = new LinkedHashMap<>();
    disks.forEach((id, d) -> views.put(id, new PointDisk(d, history, pointLock, point, kept, id, () -> lastApplied)));
    Map<DiskId, VirtualDisk> unmodifiable = Collections.unmodifiableMap(views);
    // A view of the latest point holds back applying; a view of an older one pins its undo logs.
    if (kept == null) {
      openViews.incrementAndGet();
    } else {
      kept.pins++;
    }
    java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();
    return new RecoveryPointView() {
      @Override
      public RecoveryPoint point() {
        return point;
      }

      @Override
      public Map<DiskId, VirtualDisk> disks() {
        return unmodifiable;
      }

      @Override
      public void close() {
        if (!closed.compareAndSet(false, true)) {
          return;
        }
        if (kept == null) {
          if (openViews.decrementAndGet() == 0) {
            engine.scheduler().execute(() -> engine.runLocked(ReplicaRelationship.this::scheduleApply));
          }
        } else {
          engine.scheduler().execute(() -> engine.runLocked(() -> unpin(kept)));
        }
      }
    };
  }

  /**
   * Keeps the additional points the settings ask for; a point at the latest cycle {@code latest}
   * is the latest one, not an additional one, so it does not push out the oldest.
   */
  private void pruneHistory(long latest) throws IOException {
    List<UndoHistory.Point> points = history.points();
    boolean latestKept = !points.isEmpty() && points.get(points.size() - 1).cycle == latest;
    history.prune(record.additionalRecoveryPoints() + (latestKept ? 1 : 0));
  }

  private void unpin(UndoHistory.Point kept) {
    pointLock.writeLock().lock();
    try {
      kept.pins--;
      pruneHistory(lastApplied);
      record = record.withHistory(record.additionalRecoveryPoints(), history.records());
      storage.state().write(recordName(vm), record.toJson());
    } catch (IOException e) {
      warn("cannot prune the recovery history of " + vm, e);
    } finally {
      pointLock.writeLock().unlock();
    }
  }

  /**
   * What keeping {@code points} additional points {@code interval} apart would take, from the
   * churn the applied cycles showed so far (each point's log holds at most what changed in its
   * interval, and never more than the disks).
   */
  public long estimateHistoryBytes(int points, java.time.Duration interval) {
    Instant first = firstCut;
    Instant last = lastAppliedCut;
    long diskBytes = disks.values().stream().mapToLong(VirtualDisk::sizeBytes).sum();
    if (first == null || last == null || !last.isAfter(first)) {
      return 0;
    }
    double perNano = (double) churnBytes / java.time.Duration.between(first, last).toNanos();
    long perPoint = (long) Math.min(diskBytes, perNano * interval.toNanos());
    return perPoint * points;
  }

  // ---- initial replication from media

  /**
   * Takes the disks a primary exported to {@code media} as the first copy; the cycles tracked
   * since then follow over the network.
   */
  public void importInitialReplication(StorageLocation media, String location) throws IOException {
    if (state != ReplicationState.WAITING_FOR_INITIAL_REPLICATION || lastCommitted >= 0) {
      throw new WrongStateException("import initial replication", vm, state,
          EnumSet.of(ReplicationState.WAITING_FOR_INITIAL_REPLICATION));
    }
    java.util.Properties export = new java.util.Properties();
    byte[] manifest = media.state().read(vm + "/export.properties").orElseThrow(() -> new NotFoundException(
        "there is no initial replication of virtual machine " + vm + " in " + location
            + "; export it on the primary first"));
    export.load(new java.io.StringReader(new String(manifest, StandardCharsets.UTF_8)));
    long cycle;
    Instant cut;
    try {
      cycle = Long.parseLong(export.getProperty("cycle", ""));
      cut = Instant.parse(export.getProperty("cutTime", ""));
    } catch (RuntimeException e) {
      throw new io.replica.api.CorruptDataException("the export manifest of " + vm + " in " + location
          + " is unreadable: " + e.getMessage(), e);
    }
    abandon();
    long covered = 0;
    long payload = 0;
    byte[] buf = new byte[1 << 20];
    for (Map.Entry<DiskId, VirtualDisk> e : disks.entrySet()) {
      try (VirtualDisk in = media.disks().open(vm + "/disks/" + e.getKey(), true)) {
        VirtualDisk out = e.getValue();
        if (in.sizeBytes() != out.sizeBytes()) {
          throw new IOException("the exported disk " + e.getKey() + " has " + in.sizeBytes() + " bytes, the replica's "
              + out.sizeBytes());
        }
        for (ByteRange r : in.allocatedRanges()) {
          for (long at = r.offsetBytes(); at < r.endBytes(); at += buf.length) {
            int n = (int) Math.min(buf.length, r.endBytes() - at);
            in.read(at, ByteBuffer.wrap(buf, 0, n));
            out.write(at, ByteBuffer.wrap(buf, 0, n));
            payload += n;
          }
          covered += r.lengthBytes();
        }
        out.flush();
      }
    }
    lastCommitted = cycle;
    markApplied(cycle, cut, null, payload, covered);
  }

  // ---- planned failover

  /**
   * The primary is off and sent its last cycle: apply it, fail over at exactly that point, and
   * replicate back to the former primary.
   */
  private void onFailoverPrepared(Connection c, Message.FailoverPrepared m) throws IOException {
    String refusal = null;
    if (state != ReplicationState.REPLICATING) {
      refusal = "the replica is " + state;
    } else if (lastCommitted != m.cycle()) {
      refusal = "the replica holds cycle " + lastCommitted + ", not the final cycle " + m.cycle();
    } else if (openViews.get() > 0 || test != null) {
      refusal = "a view or test failover of the latest point is open on the replica; close it first";
    }
    if (refusal == null) {
      applyPending();
      if (lastApplied != m.cycle()) {
        refusal = "the final cycle " + m.cycle() + " could not be applied (" + error + ")";
      }
    }
    if (refusal != null) {
      c.send(new Message.FailoverCompleted(vm, false, refusal));
      return;
    }
    pointLock.writeLock().lock();
    try {
      history.clear();
      record = record.withHistory(record.additionalRecoveryPoints(), history.records());
      storage.state().write(recordName(vm), record.toJson());
    } finally {
      pointLock.writeLock().unlock();
    }
    setState(ReplicationState.FAILED_OVER, "planned failover at cycle " + m.cycle() + "; replicating back to "
        + m.reverseHost());
    c.send(new Message.FailoverCompleted(vm, true, ""));
    storage.state().delete(recordName(vm));
    engine.startReverse(this, m);
  }

  /** The machine leaves this host's replicas (it runs here now): its state goes, its disks stay open. */
  public void forget() throws IOException {
    abandon();
    history.close();
    storage.state().delete(recordName(vm));
  }

  // ---- test failover and failover

  /** Pins {@code point}; the latest becomes a kept point first, so later cycles leave it intact. */
  private UndoHistory.Point pin(RecoveryPoint point) throws IOException {
    if (!recoveryPoints().contains(point)) {
      throw new NotFoundException("recovery point of cycle " + point.cycle() + " of virtual machine " + vm
          + " is not kept; kept points: " + recoveryPoints());
    }
    pointLock.writeLock().lock();
    try {
      if (point.cycle() == lastApplied) {
        history.take(point.cycle(), point.time(), point.type());
        record = record.withHistory(record.additionalRecoveryPoints(), history.records());
        storage.state().write(recordName(vm), record.toJson());
      }
      UndoHistory.Point kept = Objects.requireNonNull(history.find(point.cycle()));
      kept.pins++;
      return kept;
    } finally {
      pointLock.writeLock().unlock();
    }
  }

  /**
   * After a restart: the test failover that was running, with the writes its last flush made
   * durable. A test failover that cannot be restored is removed, with a warning.
   */
  void restoreTestFailover() {
    try {
      Optional<Long> saved = copies.savedPoint("test");
      if (saved.isEmpty()) {
        return;
      }
      long cycle = saved.get();
      RecoveryPoint point = recoveryPoints().stream().filter(x -> x.cycle() == cycle).findFirst().orElse(null);
      if (point == null) {
        warn("the test failover of " + vm + " ran from cycle " + cycle + ", which is no longer kept; it is"
            + " removed");
        copies.removeLeftovers("test");
        return;
      }
      test = copies.reopen(point, "test", testId(), record.vmName() + " - Test");
    } catch (IOException | RuntimeException e) {
      warn("cannot restore the test failover of " + vm + "; it is removed", e);
      copies.removeLeftovers("test");
    }
  }

  public VirtualMachine startTestFailover(RecoveryPoint point) throws IOException {
    if (test != null) {
      throw new WrongStateException(vm, state, Set.of(), "a test failover of virtual machine " + vm + " is"
          + " already running as '" + test.name + "'; stop it before starting another");
    }
    test = copies.create(point, "test", testId(), record.vmName() + " - Test");
    return test.machine();
  }

  /** The test failover copy's id: the same for every test of this machine, also after a restart. */
  private VmId testId() {
    return VmId.of(UUID.nameUUIDFromBytes((vm + "/test").getBytes(StandardCharsets.UTF_8)));
  }

  /** The running test failover's machine, if any. */
  public Optional<VirtualMachine> testFailover() {
    return test == null ? Optional.empty() : Optional.of(test.machine());
  }

  public @Nullable VmId testMachine() {
    return test == null ? null : test.id;
  }

  public void stopTestFailover() {
    PointCopies.Copy c = test;
    if (c == null) {
      throw new WrongStateException(vm, state, Set.of(), "virtual machine " + vm + " has no test failover"
          + " running on " + engine.hostName());
    }
    test = null;
    copies.drop(c);
  }

  /** How long an unplanned failover waits for the primary to say whether the machine runs there. */
  private static final java.time.Duration POWER_STATE_TIMEOUT = java.time.Duration.ofSeconds(10);
  private @Nullable CompletableFuture<VirtualMachine> failoverAsked;
  private @Nullable RecoveryPoint failoverPoint;

  /**
   * Unplanned failover to {@code point}. Unless forced, a connected primary is asked first whether
   * the machine runs there: running (or unknown) refuses, off or no answer proceeds.
   */
  public CompletableFuture<VirtualMachine> failover(RecoveryPoint point, boolean force) throws IOException {
    Set<ReplicationState> allowed = EnumSet.of(ReplicationState.REPLICATING, ReplicationState.ERROR);
    if (!allowed.contains(state)) {
      throw new WrongStateException("fail over", vm, state, allowed);
    }
    if (!recoveryPoints().contains(point)) {
      throw new NotFoundException("recovery point of cycle " + point.cycle() + " of virtual machine " + vm
          + " is not kept; kept points: " + recoveryPoints());
    }
    if (failoverAsked != null) {
      throw new WrongStateException(vm, state, allowed, "a failover of virtual machine " + vm + " is already"
          + " waiting for the primary's answer");
    }
    Connection primary = primaryConnection;
    if (force || primary == null || !primary.isOpen()) {
      return CompletableFuture.completedFuture(failNow(point));
    }
    CompletableFuture<VirtualMachine> asked = new CompletableFuture<>();
    failoverAsked = asked;
    failoverPoint = point;
    primary.send(new Message.PowerStateQuery(vm));
    engine.scheduler().schedule(() -> engine.runLocked(() -> onPowerState(null, true)), POWER_STATE_TIMEOUT);
    return asked;
  }

  /** The primary answered (or did not, {@code timedOut}) whether the machine runs there. */
  private void onPowerState(io.replica.spi.host.@Nullable PowerState power, boolean timedOut) {
    CompletableFuture<VirtualMachine> asked = failoverAsked;
    RecoveryPoint point = failoverPoint;
    if (asked == null || point == null) {
      return;
    }
    failoverAsked = null;
    failoverPoint = null;
    boolean off = power == io.replica.spi.host.PowerState.OFF || power == io.replica.spi.host.PowerState.SAVED;
    if (!timedOut && !off) {
      asked.completeExceptionally(new WrongStateException(vm, state, EnumSet.of(ReplicationState.REPLICATING),
          "the primary '" + record.primaryHost() + "' of virtual machine " + vm + " is reachable and the machine is "
              + (power == null ? "of unknown power state" : power) + " there; shut it down and use a planned"
              + " failover, or force the failover if the primary is really lost"));
      return;
    }
    try {
      asked.complete(failNow(point));
    } catch (IOException | RuntimeException e) {
      asked.completeExceptionally(e);
    }
  }

  private VirtualMachine failNow(RecoveryPoint chosen) throws IOException {
    abandon();
    List<RecoveryPoint> kept = recoveryPoints();
    RecoveryPoint point = engine.mutated(Mutation.FAILOVER_PAST_CHOSEN_POINT) ? kept.get(kept.size() - 1) : chosen;
    failover = copies.create(point, "failover", vm, record.vmName());
    previousState = state;
    setState(ReplicationState.FAILOVER_WAITING_COMPLETION, "failed over to the point of cycle " + point.cycle());
    return failover.machine();
  }

  public void cancelFailover() {
    PointCopies.Copy c = requireFailover("cancel the failover");
    failover = null;
    copies.drop(c);
    setState(previousState, "failover cancelled");
    scheduleApply();
  }

  /**
   * Makes the failed-over copy the replica machine's disks: the blocks that changed since the point,
   * and those written since the failover, are written into the disks; every other point goes.
   */
  public VirtualMachine commitFailover() throws IOException {
    PointCopies.Copy c = requireFailover("commit the failover");
    int block = record.trackingBlockSizeBytes();
    Map<DiskId, BlockSet> changed = new LinkedHashMap<>();
    pointLock.writeLock().lock();
    try {
      for (Map.Entry<DiskId, OverlayDisk> e : c.disks.entrySet()) {
        DiskId id = e.getKey();
        OverlayDisk view = e.getValue();
        VirtualDisk target = disks.get(id);
        java.util.SortedSet<Long> blocks = history.blocksChangedSince(c.kept, id);
        for (long sector : view.writtenSectors()) {
          blocks.add(sector * view.logicalSectorSizeBytes() / block);
        }
        BlockSet set = new BlockSet((target.sizeBytes() + block - 1) / block);
        for (long b : blocks) {
          long offset = b * block;
          ByteBuffer buf = ByteBuffer.allocate((int) Math.min(block, target.sizeBytes() - offset));
          view.read(offset, buf);
          target.write(offset, buf.flip());
          set.add(b);
        }
        target.flush();
        changed.put(id, set);
      }
      c.kept.pins = 0;
      history.clear();
      // Cycles acknowledged but never applied: the old primary has their blocks, these disks do not.
      journaledUpTo = lastApplied;
      for (long cycle : pending) {
        CycleJournal.read(storage.state(), CycleJournal.name(vm, cycle), rec -> {
          if (rec instanceof JournalRecord.Block b && changed.containsKey(b.disk()) && b.data().length > 0) {
            addRange(changed.get(b.disk()), b.offsetBytes(), b.data().length, block);
          } else if (rec instanceof JournalRecord.Zero z && changed.containsKey(z.disk()) && z.lengthBytes() > 0) {
            addRange(changed.get(z.disk()), z.offsetBytes(), z.lengthBytes(), block);
          }
        });
        journaledUpTo = Math.max(journaledUpTo, cycle);
        storage.state().delete(CycleJournal.name(vm, cycle));
      }
      pending.clear();
      record = record.withHistory(record.additionalRecoveryPoints(), history.records());
      storage.state().write(recordName(vm), record.toJson());
    } finally {
      pointLock.writeLock().unlock();
    }
    failover = null;
    for (Map.Entry<DiskId, OverlayDisk> e : c.disks.entrySet()) {
      e.getValue().close();
      e.getValue().top().close();
      storage.disks().delete(c.directory + e.getKey());
    }
    setState(ReplicationState.FAILED_OVER, "failover committed; the other recovery points were removed");
    failedOver = new LinkedHashMap<>();
    List<VmDisk> list = new ArrayList<>();
    disks.forEach((id, d) -> {
      FailedOverDisk running = new FailedOverDisk(d, block, changed.get(id));
      failedOver.put(id, running);
      list.add(new VmDisk(id, running, list.isEmpty()));
    });
    return new VirtualMachine(vm, record.vmName(), list);
  }

  private static void addRange(BlockSet set, long offsetBytes, long lengthBytes, int block) {
    set.addRange(offsetBytes / block, (offsetBytes + lengthBytes + block - 1) / block);
  }

  /**
   * What reverse replication after this host's unplanned failover may narrow its comparison to:
   * the blocks changed here since the point both sides shared, and the last cycle these disks
   * received; null when that is not known (no failover committed in this run of the host).
   */
  public @Nullable ReverseBase reverseBase(VmTracker tracker) {
    Map<DiskId, FailedOverDisk> running = failedOver;
    if (running == null) {
      return null;
    }
    Map<DiskId, BlockSet> changed = new LinkedHashMap<>();
    running.forEach((id, d) -> changed.put(id, d.handOver(tracker.trackedDisk(id))));
    failedOver = null;
    handedOver = running;
    return new ReverseBase(lastApplied, journaledUpTo, changed);
  }

  /**
   * Reverse replication did not start: the machine stays failed over here, its disks remember
   * what it writes again (what {@code tracker} saw meanwhile included), and it can be retried.
   */
  public void reinstate(VmTracker tracker) throws IOException {
    Map<DiskId, FailedOverDisk> running = handedOver;
    handedOver = null;
    if (running != null) {
      for (DiskTracker t : tracker.disks()) {
        FailedOverDisk d = running.get(t.id);
        if (d != null) {
          d.takeBack(t::pendingSet);
        }
      }
      failedOver = running;
    }
    storage.state().write(recordName(vm), record.toJson());
  }

  /**
   * The common ground for reverse replication: the cycle these disks hold, the last cycle they
   * acknowledged, and per disk the blocks changed here since.
   */
  public record ReverseBase(long appliedCycle, long journaledCycle, Map<DiskId, BlockSet> changed) {}

  private PointCopies.Copy requireFailover(String operation) {
    PointCopies.Copy c = failover;
    if (c == null || state != ReplicationState.FAILOVER_WAITING_COMPLETION) {
      throw new WrongStateException(operation, vm, state, EnumSet.of(ReplicationState.FAILOVER_WAITING_COMPLETION));
    }
    return c;
  }

  // ---- state, health, statistics

  private void toError(String reason) {
    error = reason;
    setState(ReplicationState.ERROR, reason);
  }

  private void setState(ReplicationState to, String reason) {
    ReplicationState from = state;
    if (from == to) {
      return;
    }
    StateTable.REPLICA.check(vm, from, to, reason);
    state = to;
    engine.emit(new ReplicationEvent.StateChanged(vm, engine.clock().instant(), ReplicationMode.REPLICA,
        from, to, reason));
    updateHealth();
  }

  public ReplicationHealth health() {
    if (state == ReplicationState.ERROR) {
      return new HealthReport().critical(error == null ? "replica in error" : error).health();
    }
    HealthReport report = new HealthReport().initialReplication(lastApplied >= 0);
    if (lastApplied >= 0 && HealthReport.stale(stats, engine.clock().nanoTime())) {
      report.warning("no cycle was received for more than an hour; the last one was cut at " + lastAppliedCut);
    }
    return report.health();
  }

  void updateHealth() {
    healthWatch.update(health());
  }

  public ReplicationStatistics statistics() {
    return stats.snapshot(engine, vm, 0, lastApplied);
  }

  public void close() {
    abandon();
    PointCopies.Copy running = test;
    test = null;
    if (running != null) {
      // A test failover outlives the engine: it is restored when the host starts again.
      for (OverlayDisk d : running.disks.values()) {
        try {
          d.flush();
          d.close();
          d.top().close();
        } catch (IOException e) {
          warn("cannot close the test failover disks of " + vm, e);
        }
      }
    }
    history.close();
    if (record.attachedDisks()) {
      return; // the machine's own disks: the embedder's to close
    }
    for (VirtualDisk d : disks.values()) {
      try {
        d.close();
      } catch (IOException e) {
        warn("cannot close a replica disk of " + vm, e);
      }
    }
  }

  private static void warn(String message, Throwable e) {
    LOG.warn("{}: {}", message, Failures.describe(e));
  }

  private static void warn(String message) {
    LOG.warn(message);
  }

  /** A primary broke the protocol: its connection closes, and the primary reconnects and starts over. */
  static void protocolError(Connection c, String reason) {
    LOG.warn("closing connection from {} ({}): {}", c.peerIdentity(), c.remote(), reason);
    c.close();
  }

  /** The replica machine as its cycle receiver sees it. */
  private final class Receiver implements CycleReceiver.Owner {
    @Override
    public Message.@Nullable CycleRejected refusal(Message.CycleBegin b) {
      boolean resyncAllowed = b.resynchronization() && record.resynchronizationRequired();
      if (state == ReplicationState.ERROR && !resyncAllowed) {
        return new Message.CycleRejected(vm, b.cycle(), error == null ? "replica is in error" : error,
            record.resynchronizationRequired());
      }
      if (state == ReplicationState.FAILOVER_WAITING_COMPLETION || state == ReplicationState.FAILED_OVER) {
        return new Message.CycleRejected(vm, b.cycle(), "virtual machine " + vm + " failed over on "
            + engine.hostName() + " (" + state + "); it takes no more cycles", false);
      }
      return null;
    }

    @Override
    public long lastCommitted() {
      return lastCommitted;
    }

    @Override
    public void outOfSequence(String reason) throws IOException {
      record = record.withPrimary(record.primaryHost(), true);
      storage.state().write(recordName(vm), record.toJson());
      toError(reason);
    }

    @Override
    public StateStore journals() {
      return storage.state();
    }

    @Override
    public @Nullable VirtualDisk disk(DiskId id) {
      return disks.get(id);
    }

    @Override
    public int blockSize() {
      return record.trackingBlockSizeBytes();
    }

    @Override
    public void failed(String reason) {
      stats.error();
      engine.emit(new ReplicationEvent.ReplicationFailed(vm, engine.clock().instant(), reason));
    }

    @Override
    public void endOfHeldCycle(long cycle) throws IOException {
      if (engine.mutated(Mutation.DUPLICATE_APPLIED_TWICE) && cycle == lastApplied && lastAppliedCut != null) {
        markApplied(cycle, lastAppliedCut, null, 0, 0);
      }
    }

    @Override
    public void firstCopyDone(Receiving r) throws IOException {
      for (VirtualDisk d : disks.values()) {
        d.flush();
      }
      lastCommitted = r.cycle;
      markApplied(r.cycle, r.cutTime, r.point, r.checksum.payloadBytes(), r.checksum.coveredBytes());
    }

    @Override
    public void committed(Receiving r) throws IOException {
      lastCommitted = r.cycle;
      pending.add(r.cycle);
      if (r.resync && record.resynchronizationRequired()) {
        // The cycle that makes the disks equal to the primary's is durable: replication goes on.
        record = record.withPrimary(record.primaryHost(), false);
        storage.state().write(recordName(vm), record.toJson());
        error = null;
        setState(ReplicationState.REPLICATING, "resynchronized at cycle " + r.cycle);
      }
      scheduleApply();
    }

    @Override
    public boolean mutated(Mutation mutation) {
      return engine.mutated(mutation);
    }
  }
}
