package io.replica.testkit.sim;

import io.replica.api.AuthenticationType;
import io.replica.api.ChangeTracker;
import io.replica.api.DiskId;
import io.replica.api.RecoveryPoint;
import io.replica.api.RecoveryPointView;
import io.replica.api.ReplicaServerSettings;
import io.replica.api.ReplicationManager;
import io.replica.api.ReplicationMode;
import io.replica.api.ReplicationSettings;
import io.replica.api.ReplicationState;
import io.replica.api.ReplicationStatistics;
import io.replica.api.VirtualMachine;
import io.replica.api.VmDisk;
import io.replica.api.VmId;
import io.replica.api.event.ReplicationEvent;
import io.replica.core.ReplicaEngine;
import io.replica.spi.storage.DiskSpec;
import io.replica.spi.storage.StorageProvider;
import io.replica.spi.storage.VirtualDisk;
import io.replica.testkit.gen.GuestWrite;
import io.replica.testkit.gen.Workload;
import io.replica.testkit.gen.WorkloadGenerator;
import io.replica.testkit.memory.InMemoryNetwork;
import io.replica.testkit.memory.InMemoryStorageProvider;
import io.replica.testkit.memory.InMemoryVirtualDisk;
import io.replica.testkit.time.ManualClock;
import io.replica.testkit.time.ManualScheduler;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import java.util.zip.CRC32C;
import org.jspecify.annotations.Nullable;

/**
 * One simulated run: a primary and a replica host, a two-disk machine under a seeded workload, an
 * in-memory network and a manual clock, all in the calling thread. Each step either lets the guest
 * write or runs the next scheduled task; faults from the {@link FaultPlan} land between steps; every
 * {@link Invariant} is checked after each step. After the last step the faults stop and the run
 * checks that the replica catches up.
 *
 * <p>Everything that varies comes from the seed, so {@link SimulationResult#replayCommand()}
 * replays a run exactly, and {@link SimulationResult#traceHash()} is equal for every replay.
 *
 * <pre>{@code
 * SimulationResult r = Simulation.builder(seed).scenario(Scenario.CRASHES).build().run();
 * assertTrue(r.passed(), r::report);
 * }</pre>
 */
public final class Simulation {
  /** The steps of a run unless set otherwise. */
  public static final int DEFAULT_STEPS = 300;
  static final String PRIMARY = "primary.sim.test";
  static final String REPLICA = "replica.sim.test";
  private static final String LOCATION = "replicas";
  private static final Duration FREQUENCY = Duration.ofSeconds(5);
  private static final int LAST_EVENTS = 40;

  private final long seed;
  private final Scenario scenario;
  private final int steps;
  private final long diskBytes;
  private final StorageProvider replicaStorage;
  private final Function<DiskSpec, VirtualDisk> primaryDisks;

  private Simulation(Builder b) {
    this.seed = b.seed;
    this.scenario = b.scenario;
    this.steps = b.steps;
    this.diskBytes = b.diskBytes;
    this.replicaStorage = b.replicaStorage != null ? b.replicaStorage : new InMemoryStorageProvider();
    this.primaryDisks = b.primaryDisks != null ? b.primaryDisks : InMemoryVirtualDisk::create;
  }

  /** A builder for the run of {@code seed}. */
  public static Builder builder(long seed) {
    return new Builder(seed);
  }

  /** Runs the simulation once. Another call runs it again from the start, identically. */
  public SimulationResult run() {
    return new Run().execute();
  }

  /** Chooses what a run does; everything else comes from the seed. */
  public static final class Builder {
    private final long seed;
    private Scenario scenario = Scenario.STEADY;
    private int steps = DEFAULT_STEPS;
    private long diskBytes = 256 * 1024;
    private @Nullable StorageProvider replicaStorage;
    private @Nullable Function<DiskSpec, VirtualDisk> primaryDisks;

    private Builder(long seed) {
      this.seed = seed;
    }

    /** The scenario; {@link Scenario#STEADY} by default. */
    public Builder scenario(Scenario scenario) {
      this.scenario = Objects.requireNonNull(scenario, "scenario");
      return this;
    }

    /** The hard step limit of the faulty phase; {@link #DEFAULT_STEPS} by default. */
    public Builder steps(int steps) {
      if (steps < 1) {
        throw new IllegalArgumentException("a simulation needs at least one step, not " + steps);
      }
      this.steps = steps;
      return this;
    }

    /** The size of each of the machine's two disks; 256 KiB by default (a multiple of 4 KiB). */
    public Builder diskBytes(long bytes) {
      if (bytes < 4096 || bytes % 4096 != 0) {
        throw new IllegalArgumentException("simulated disks need a positive multiple of 4096 bytes, not " + bytes);
      }
      this.diskBytes = bytes;
      return this;
    }

    /**
     * The replica server's storage; the testkit's in-memory storage by default. With an
     * {@link InMemoryStorageProvider}, a replica crash loses or tears unflushed writes; with any
     * other provider a crash only restarts the engine on it.
     */
    public Builder replicaStorage(StorageProvider storage) {
      this.replicaStorage = Objects.requireNonNull(storage, "storage");
      return this;
    }

    /** Makes the primary machine's disks; in-memory disks by default. */
    public Builder primaryDisks(Function<DiskSpec, VirtualDisk> factory) {
      this.primaryDisks = Objects.requireNonNull(factory, "factory");
      return this;
    }

    /** The simulation. */
    public Simulation build() {
      return new Simulation(this);
    }
  }

  /** Found a broken invariant: ends the run. */
  private static final class Stop extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final transient Violation violation;

    Stop(Violation violation) {
      super(violation.toString(), null, false, false);
      this.violation = violation;
    }
  }

  /** The state of one run. */
  private final class Run {
    final SplittableRandom random = new SplittableRandom(seed);
    final ManualClock clock = new ManualClock(Instant.parse("2026-01-01T00:00:00Z"));
    final ManualScheduler scheduler = new ManualScheduler(clock);
    final InMemoryNetwork network = new InMemoryNetwork(scheduler, 16 * 1024);
    final FaultPlan plan = FaultPlan.generate(seed, scenario, steps, 12);
    final Map<FaultKind, Integer> injected = new EnumMap<>(FaultKind.class);
    final ArrayDeque<String> lastEvents = new ArrayDeque<>();
    final List<HostEvent> events = new ArrayList<>();
    long trace = 0xcbf29ce484222325L;
    int step;

    final VirtualMachine vm;
    final List<VirtualDisk> disks = new ArrayList<>();
    final WorkloadGenerator workload;
    final ReplicationSettings settings = ReplicationSettings.builder(REPLICA)
        .authenticationType(AuthenticationType.CERTIFICATE).replicationFrequency(FREQUENCY).build();
    final ReplicaServerSettings serverSettings = ReplicaServerSettings.builder()
        .allowedAuthenticationTypes(java.util.Set.of(AuthenticationType.CERTIFICATE))
        .allowAnyAuthenticatedServer(LOCATION).build();

    @Nullable ReplicationManager primary;
    @Nullable ReplicationManager replica;
    int primaryEpoch;
    @Nullable CompletableFuture<Void> enabling;
    @Nullable ChangeTracker tracker;
    long generation = -1;
    /** Snapshots of cuts whose cycle number has not been announced yet. */
    final ArrayDeque<long[]> unnamedCuts = new ArrayDeque<>();
    final Map<Long, long[]> cuts = new HashMap<>();
    long maxAcked = -1;
    /** The cycle a restarted replica must hold once it can apply, -1 for none. */
    long mustHold = -1;
    long lastApplied = -1;
    long latestPoint = -1;
    long applied;
    boolean initialDone;
    long successes;
    long missed;

    int replicaDownUntil = -1;
    int diskFullUntil = -1;
    int suspendedUntil = -1;
    int viewUntil = -1;
    int partitionUntil = -1;
    int slowUntil = -1;
    /** The replica host's scheduler: its work starts this much late while its disks are slow. */
    final SlowScheduler replicaScheduler = new SlowScheduler(scheduler);
    @Nullable RecoveryPointView view;
    long @Nullable [] viewCrcs;

    Run() {
      List<DiskSpec> specs = new ArrayList<>();
      List<VmDisk> vmDisks = new ArrayList<>();
      for (int i = 0; i < 2; i++) {
        DiskSpec spec = DiskSpec.dynamic(diskBytes);
        specs.add(spec);
        VirtualDisk d = primaryDisks.apply(spec);
        disks.add(d);
        vmDisks.add(new VmDisk(DiskId.of(new UUID(seed, i)), d, i == 0));
      }
      vm = new VirtualMachine(VmId.of(new UUID(seed, -1)), "sim-" + seed, vmDisks);
      Workload[] kinds = Workload.values();
      workload = WorkloadGenerator.builder(seed).disks(specs).workload(kinds[(int) Math.floorMod(seed, kinds.length)])
          .writeSizeUpTo(16 * 1024).build();
    }

    SimulationResult execute() {
      Optional<Violation> violation = Optional.empty();
      try {
        startReplica();
        startPrimary();
        int faultIndex = 0;
        List<Fault> faults = plan.faults();
        for (step = 0; step < steps; step++) {
          while (faultIndex < faults.size() && faults.get(faultIndex).step() <= step) {
            inject(faults.get(faultIndex++));
          }
          endTimedFaults();
          noticeCut(); // operator actions such as resume may have cut synchronously
          act();
          afterStep();
        }
        drain();
      } catch (Stop stop) {
        violation = Optional.of(stop.violation);
      } catch (IOException | RuntimeException e) {
        violation = Optional.of(new Violation(Invariant.CONVERGES, step,
            "the run failed: " + e + (e.getCause() == null ? "" : " caused by " + e.getCause())));
      } finally {
        closeQuietly();
      }
      return new SimulationResult(seed, scenario, step, injected, applied, violation,
          new ArrayList<>(lastEvents), trace);
    }

    // ---- hosts

    void startReplica() {
      int epoch = primaryEpoch;
      ReplicationManager m = ReplicaEngine.builder().hostName(REPLICA).clock(clock).scheduler(replicaScheduler)
          .transport(network.transport(REPLICA)).storage(replicaStorage).build();
      m.addListener(e -> events.add(new HostEvent(false, 0, e)));
      replica = m;
      m.setReplicaServerSettings(serverSettings);
      record("replica started (epoch " + epoch + ")");
    }

    void startPrimary() {
      primaryEpoch++;
      int epoch = primaryEpoch;
      ReplicationManager m = ReplicaEngine.builder().hostName(PRIMARY).clock(clock).scheduler(scheduler)
          .transport(network.transport(PRIMARY)).spillDirectory(java.nio.file.Path.of(System.getProperty("java.io.tmpdir")))
          .build();
      m.addListener(e -> events.add(new HostEvent(true, epoch, e)));
      primary = m;
      tracker = null;
      unnamedCuts.clear();
      initialDone = false;
      successes = 0;
      missed = 0;
      enabling = m.enableReplication(vm, settings);
      record("primary started (epoch " + epoch + ")");
    }

    /** Completes a pending enable: starts initial replication, or retries a failed enable. */
    void advanceEnabling() throws IOException {
      CompletableFuture<Void> f = enabling;
      if (f == null || !f.isDone() || primary == null) {
        return;
      }
      enabling = null;
      if (f.isCompletedExceptionally()) {
        record("enable failed; retrying");
        enabling = primary.enableReplication(vm, settings);
        return;
      }
      tracker = primary.changeTracker(vm.id());
      generation = tracker.openGeneration();
      primary.startInitialReplication(vm.id());
      noticeCut();
    }

    void crashReplica() throws IOException {
      network.faults().crash(REPLICA);
      closeView();
      Objects.requireNonNull(replica).close();
      replica = null;
      if (replicaStorage instanceof InMemoryStorageProvider) {
        InMemoryStorageProvider memory = (InMemoryStorageProvider) replicaStorage;
        if (random.nextBoolean()) {
          memory.simulateCrash(new java.util.Random(random.nextLong()));
        } else {
          memory.simulateCrash();
        }
      }
      record("replica crashed");
    }

    void restartReplica() throws IOException {
      mustHold = Math.max(mustHold, maxAcked);
      startReplica();
      processEvents();
      checkDurability();
      checkReplicaContent();
    }

    /**
     * After a restart the replica must hold every cycle the primary saw acknowledged. A replica that
     * cannot apply (its disk is full) keeps them in its journal; it is checked once it can.
     */
    void checkDurability() {
      ReplicationManager r = replica;
      if (mustHold < 0 || r == null || !r.virtualMachines().contains(vm.id())
          || r.state(vm.id()) == ReplicationState.ERROR) {
        return;
      }
      long held = latestPointOf(r);
      if (held < mustHold) {
        throw violation(Invariant.ACKED_DATA_DURABLE, "the primary saw cycle " + mustHold
            + " acknowledged, but after a restart the replica holds only cycle " + held);
      }
      mustHold = -1;
    }

    void crashPrimary() {
      network.faults().crash(PRIMARY);
      Objects.requireNonNull(primary).close();
      scheduler.runUntilIdle();
      processEventsQuietly();
      record("primary crashed");
      startPrimary();
    }

    // ---- steps

    void act() throws IOException {
      if (random.nextInt(100) < 35) {
        for (GuestWrite w : workload.next(1 + random.nextInt(3))) {
          VirtualDisk d = tracker != null ? tracker.trackedDisk(vm.disks().get(w.diskIndex()).id())
              : disks.get(w.diskIndex());
          d.write(w.offsetBytes(), ByteBuffer.wrap(w.data()));
        }
        record("guest wrote");
      } else if (!scheduler.runNext()) {
        clock.advance(Duration.ofSeconds(1));
        record("idle");
      }
    }

    void afterStep() throws IOException {
      advanceEnabling();
      noticeCut();
      processEvents();
      checkDurability();
    }

    /** A cut happened in the last step: the disks now are the disks at the cut. */
    void noticeCut() throws IOException {
      ChangeTracker t = tracker;
      if (t != null && t.openGeneration() != generation) {
        if (t.openGeneration() != generation + 1) {
          throw new IllegalStateException("the simulation missed a cut: generation " + generation + " became "
              + t.openGeneration() + " in one step");
        }
        generation = t.openGeneration();
        unnamedCuts.add(crcs(disks));
      }
    }

    void processEvents() throws IOException {
      for (int i = 0; i < events.size(); i++) {
        HostEvent e = events.get(i);
        record(e.toString());
        onEvent(e);
      }
      events.clear();
    }

    void processEventsQuietly() {
      for (HostEvent e : events) {
        record(e.toString());
      }
      events.clear();
    }

    void onEvent(HostEvent tagged) throws IOException {
      // A primary that was restarted may still report; only the current one counts.
      boolean fromPrimary = tagged.primary() && tagged.epoch() == primaryEpoch;
      ReplicationEvent event = tagged.event();
      if (event instanceof ReplicationEvent.CycleStarted started && fromPrimary) {
        long cycle = started.cycle();
        long[] snapshot = unnamedCuts.poll();
        if (snapshot == null) {
          throw violation(Invariant.STATISTICS_CONSISTENT, "cycle " + cycle + " started without a cut");
        }
        cuts.put(cycle, snapshot);
      } else if (event instanceof ReplicationEvent.CycleCompleted done && done.mode() == ReplicationMode.PRIMARY
          && fromPrimary) {
        maxAcked = Math.max(maxAcked, done.cycle());
        if (initialDone) {
          successes++;
        }
      } else if (event instanceof ReplicationEvent.StateChanged changed && fromPrimary
          && changed.to() == ReplicationState.REPLICATING) {
        initialDone = true;
      } else if (event instanceof ReplicationEvent.CycleMissed && fromPrimary) {
        missed++;
      } else if (event instanceof ReplicationEvent.CycleCompleted done && !tagged.primary()) {
        long cycle = done.cycle();
        if (cycle <= lastApplied) {
          throw violation(Invariant.CYCLES_APPLIED_ONCE_IN_ORDER, "the replica applied cycle " + cycle
              + " after cycle " + lastApplied);
        }
        lastApplied = cycle;
        applied++;
        checkReplicaContent();
      }
    }

    /** The replica's latest point holds the primary's disks at that cut, and never goes back. */
    void checkReplicaContent() throws IOException {
      ReplicationManager r = replica;
      if (r == null || !r.virtualMachines().contains(vm.id())) {
        return;
      }
      List<RecoveryPoint> points = r.recoveryPoints(vm.id());
      if (points.isEmpty()) {
        return;
      }
      RecoveryPoint latest = points.get(points.size() - 1);
      if (latest.cycle() < latestPoint) {
        throw violation(Invariant.RECOVERY_POINTS_STABLE, "the latest recovery point went back from cycle "
            + latestPoint + " to cycle " + latest.cycle());
      }
      latestPoint = latest.cycle();
      long[] expected = cuts.get(latest.cycle());
      if (expected == null) {
        return; // cut by a primary whose announcement was lost in its crash
      }
      long[] actual;
      try (RecoveryPointView v = r.openRecoveryPoint(latest)) {
        actual = crcs(viewDisks(v));
      }
      if (!Arrays.equals(expected, actual)) {
        throw violation(Invariant.REPLICA_EQUALS_ACKED_CUT, "the replica's point of cycle " + latest.cycle()
            + " differs from the primary at that cut (disk CRCs " + Arrays.toString(actual) + ", expected "
            + Arrays.toString(expected) + ")");
      }
    }

    List<VirtualDisk> viewDisks(RecoveryPointView v) {
      List<VirtualDisk> out = new ArrayList<>();
      for (VmDisk d : vm.disks()) {
        out.add(v.disks().get(d.id()));
      }
      return out;
    }

    // ---- faults

    void inject(Fault f) throws IOException {
      String from = f.towardReplica() ? PRIMARY : REPLICA;
      String to = f.towardReplica() ? REPLICA : PRIMARY;
      boolean applied = true;
      switch (f.kind()) {
        case DROP:
          network.faults().dropNext(from, to, f.amount());
          break;
        case DUPLICATE:
          network.faults().duplicateNext(from, to, f.amount());
          break;
        case REORDER:
          network.faults().reorderNext(from, to, f.amount());
          break;
        case CORRUPT:
          network.faults().corruptNext(PRIMARY, REPLICA, f.amount());
          break;
        case DELAY:
          network.faults().delay(from, to, Duration.ofMillis(100L * f.amount()));
          break;
        case DISCONNECT:
          network.faults().disconnect(PRIMARY, REPLICA);
          break;
        case PARTITION:
          network.faults().partition(PRIMARY, REPLICA);
          partitionUntil = step + f.amount();
          break;
        case CRASH_REPLICA:
          if (replica != null) {
            crashReplica();
            replicaDownUntil = step + f.amount() / 4;
          } else {
            applied = false;
          }
          break;
        case CRASH_PRIMARY:
          crashPrimary();
          break;
        case DISK_FULL:
          if (replicaStorage instanceof InMemoryStorageProvider) {
            var disksOfReplica = ((InMemoryStorageProvider) replicaStorage).location(LOCATION).disks();
            disksOfReplica.setCapacityBytes(disksOfReplica.allocatedBytes());
            diskFullUntil = step + f.amount();
          } else {
            applied = false;
          }
          break;
        case OPEN_VIEW:
          applied = openView(f.amount());
          break;
        case SLOW_DISK:
          replicaScheduler.latency = Duration.ofMillis(250L * f.amount());
          slowUntil = step + f.amount();
          break;
        case SUSPEND:
          applied = suspend(f.amount());
          break;
        default:
          throw new IllegalStateException("unknown fault " + f.kind());
      }
      if (applied) {
        injected.merge(f.kind(), 1, Integer::sum);
        record("fault " + f.kind() + " x" + f.amount() + (f.towardReplica() ? " toward replica" : " toward primary"));
      }
    }

    boolean openView(int forSteps) throws IOException {
      ReplicationManager r = replica;
      if (view != null || r == null || !r.virtualMachines().contains(vm.id())) {
        return false;
      }
      List<RecoveryPoint> points = r.recoveryPoints(vm.id());
      if (points.isEmpty()) {
        return false;
      }
      view = r.openRecoveryPoint(points.get(points.size() - 1));
      viewCrcs = crcs(viewDisks(view));
      viewUntil = step + forSteps;
      return true;
    }

    void closeView() throws IOException {
      RecoveryPointView v = view;
      if (v == null) {
        return;
      }
      long[] now = crcs(viewDisks(v));
      if (!Arrays.equals(now, viewCrcs)) {
        throw violation(Invariant.RECOVERY_POINTS_STABLE, "the recovery point of cycle " + v.point().cycle()
            + " changed while a view of it was open");
      }
      v.close();
      view = null;
      record("view closed");
    }

    boolean suspend(int forSteps) {
      ReplicationManager p = primary;
      if (p == null || tracker == null || suspendedUntil >= 0) {
        return false;
      }
      ReplicationState s = p.state(vm.id());
      if (s != ReplicationState.REPLICATING && s != ReplicationState.WAITING_FOR_INITIAL_REPLICATION) {
        return false;
      }
      p.suspendReplication(vm.id());
      suspendedUntil = step + forSteps;
      return true;
    }

    void endTimedFaults() throws IOException {
      if (replica == null && step >= replicaDownUntil) {
        restartReplica();
      }
      if (partitionUntil >= 0 && step >= partitionUntil) {
        network.faults().heal(PRIMARY, REPLICA);
        partitionUntil = -1;
        record("partition healed");
      }
      if (slowUntil >= 0 && step >= slowUntil) {
        replicaScheduler.latency = Duration.ZERO;
        slowUntil = -1;
        record("replica disks fast again");
      }
      if (diskFullUntil >= 0 && step >= diskFullUntil) {
        endDiskFull();
      }
      if (view != null && step >= viewUntil) {
        closeView();
      }
      if (suspendedUntil >= 0 && step >= suspendedUntil) {
        resume();
      }
    }

    void endDiskFull() throws IOException {
      ((InMemoryStorageProvider) replicaStorage).location(LOCATION).disks().setCapacityBytes(Long.MAX_VALUE);
      diskFullUntil = -1;
      record("disk space freed");
      ReplicationManager r = replica;
      if (r != null && r.virtualMachines().contains(vm.id()) && r.state(vm.id()) == ReplicationState.ERROR) {
        // The operator restarts the replica server once there is space: the journal applies.
        network.faults().crash(REPLICA);
        closeView();
        r.close();
        replica = null;
        scheduler.runUntilIdle();
        processEvents();
        restartReplica();
      }
    }

    void resume() {
      suspendedUntil = -1;
      ReplicationManager p = primary;
      if (p != null && p.virtualMachines().contains(vm.id()) && p.state(vm.id()) == ReplicationState.SUSPENDED) {
        p.resumeReplication(vm.id());
        record("resumed");
      }
    }

    // ---- the end

    /** The faults stop and the guest is idle: the replica must catch up with the primary. */
    void drain() throws IOException {
      step = steps;
      network.faults().clear();
      network.faults().heal();
      partitionUntil = -1;
      replicaScheduler.latency = Duration.ZERO;
      slowUntil = -1;
      if (diskFullUntil >= 0) {
        endDiskFull();
      }
      closeView();
      if (suspendedUntil >= 0) {
        resume();
      }
      if (replica == null) {
        restartReplica();
      }
      noticeCut();
      for (int i = 0; i < 200 && !converged(); i++) {
        scheduler.advance(Duration.ofSeconds(1));
        afterStep();
      }
      if (!converged()) {
        ReplicationManager p = Objects.requireNonNull(primary);
        throw violation(Invariant.CONVERGES, "200 s after the faults stopped the replica is at cycle "
            + latestPoint + " while the primary is " + (p.virtualMachines().contains(vm.id())
                ? p.state(vm.id()) + " with " + p.changeTracker(vm.id()).pendingBytes() + " bytes pending"
                : "not replicating"));
      }
      ReplicationManager r = Objects.requireNonNull(replica);
      List<RecoveryPoint> points = r.recoveryPoints(vm.id());
      try (RecoveryPointView v = r.openRecoveryPoint(points.get(points.size() - 1))) {
        if (!Arrays.equals(crcs(disks), crcs(viewDisks(v)))) {
          throw violation(Invariant.CONVERGES, "the replica caught up to cycle " + v.point().cycle()
              + " but differs from the idle primary");
        }
      }
      checkStatistics();
    }

    boolean converged() {
      ReplicationManager p = primary;
      ReplicationManager r = replica;
      if (p == null || r == null || tracker == null || !p.virtualMachines().contains(vm.id())
          || !r.virtualMachines().contains(vm.id())) {
        return false;
      }
      return p.state(vm.id()) == ReplicationState.REPLICATING && tracker.pendingBytes() == 0
          && p.statistics(vm.id()).lastAppliedCycle() == latestPoint && latestPoint >= 0;
    }

    void checkStatistics() {
      ReplicationStatistics s = Objects.requireNonNull(primary).statistics(vm.id());
      if (s.successfulReplicationCount() != successes || s.missedReplicationCount() != missed) {
        throw violation(Invariant.STATISTICS_CONSISTENT, "the primary reports " + s.successfulReplicationCount()
            + " successful and " + s.missedReplicationCount() + " missed cycles; its events say " + successes
            + " and " + missed);
      }
      if (s.lastAppliedCycle() != maxAcked && maxAcked > s.lastAppliedCycle()) {
        throw violation(Invariant.STATISTICS_CONSISTENT, "the primary's last acknowledged cycle is "
            + s.lastAppliedCycle() + " but it announced cycle " + maxAcked + " as completed");
      }
    }

    // ---- helpers

    Stop violation(Invariant invariant, String message) {
      return new Stop(new Violation(invariant, step, message));
    }

    void record(String line) {
      String entry = "#" + step + " " + line;
      for (byte b : entry.getBytes(StandardCharsets.UTF_8)) {
        trace = (trace ^ (b & 0xff)) * 0x100000001b3L;
      }
      lastEvents.add(entry);
      if (lastEvents.size() > LAST_EVENTS) {
        lastEvents.poll();
      }
    }

    long latestPointOf(ReplicationManager r) {
      if (!r.virtualMachines().contains(vm.id())) {
        return -1;
      }
      List<RecoveryPoint> points = r.recoveryPoints(vm.id());
      return points.isEmpty() ? -1 : points.get(points.size() - 1).cycle();
    }

    void closeQuietly() {
      try {
        if (view != null) {
          view.close();
        }
        if (primary != null) {
          primary.close();
        }
        if (replica != null) {
          replica.close();
        }
        scheduler.runUntilIdle();
      } catch (RuntimeException e) {
        record("close failed: " + e);
      }
    }
  }

  /** An event and the host that reported it: the replica, or the primary of one epoch. */
  private record HostEvent(boolean primary, int epoch, ReplicationEvent event) {
    /** The trace line; its text feeds the trace hash, so it stays as it is. */
    @Override
    public String toString() {
      return (primary ? "P" + epoch : "R") + " " + event;
    }
  }

  static long[] crcs(List<VirtualDisk> disks) throws IOException {
    long[] out = new long[disks.size()];
    ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
    for (int i = 0; i < disks.size(); i++) {
      VirtualDisk d = disks.get(i);
      CRC32C crc = new CRC32C();
      for (long off = 0; off < d.sizeBytes(); off += buf.capacity()) {
        buf.clear().limit((int) Math.min(buf.capacity(), d.sizeBytes() - off));
        d.read(off, buf);
        buf.flip();
        crc.update(buf);
      }
      out[i] = crc.getValue();
    }
    return out;
  }
}
