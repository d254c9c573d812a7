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
import io.replica.core.context.StateTable;
import io.replica.core.host.Engine;
import io.replica.core.testing.Mutation;
import io.replica.spi.storage.DiskSpec;
import io.replica.spi.storage.StorageProvider;
import io.replica.spi.storage.VirtualDisk;
import io.replica.testkit.gen.GuestWrite;
import io.replica.testkit.gen.Workload;
import io.replica.testkit.gen.WorkloadGenerator;
import io.replica.testkit.memory.InMemoryNetwork;
import io.replica.testkit.memory.InMemoryStateStore;
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
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;
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
  /** Where a lying storage hides data from its allocated ranges: 16 KiB at 64 KiB. */
  private static final long LIE_OFFSET = 64 * 1024;
  private static final long LIE_LENGTH = 16 * 1024;
  /** The most engine tasks one step runs: a step is a slice of the hosts' work, not one message. */
  private static final int TASKS_PER_STEP_MAX = 24;
  /** How long a burst of counted network faults (drop, duplicate, reorder, corrupt) lasts. */
  private static final Duration FAULT_BURST = Duration.ofSeconds(10);
  /**
   * How long after the last fault that can cost a message, a connection or a host the replica may
   * go without applying a cycle while the link is up before the run counts as starved: enough for
   * a lost message's 60 s timeout, a reconnect and a cycle on a slow replica disk.
   */
  private static final Duration STARVED_AFTER = Duration.ofMinutes(5);

  private final long seed;
  private final Scenario scenario;
  private final int steps;
  private final long diskBytes;
  private final Supplier<? extends StorageProvider> replicaStorage;
  private final Function<DiskSpec, VirtualDisk> primaryDisks;
  private final @Nullable Mutation mutation;
  private final @Nullable Consumer<String> traceLines;

  private Simulation(Builder b) {
    this.traceLines = b.trace;
    this.mutation = b.mutation;
    this.seed = b.seed;
    this.scenario = b.scenario;
    this.steps = b.steps;
    this.diskBytes = b.diskBytes;
    this.replicaStorage = b.replicaStorage != null ? b.replicaStorage : InMemoryStorageProvider::new;
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
    private @Nullable Supplier<? extends StorageProvider> replicaStorage;
    private @Nullable Function<DiskSpec, VirtualDisk> primaryDisks;
    private @Nullable Mutation mutation;
    private @Nullable Consumer<String> trace;

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
     * Makes the replica server's storage, once per {@link Simulation#run()} so that every run starts
     * from empty storage; the testkit's in-memory storage by default. With an
     * {@link InMemoryStorageProvider}, a replica crash loses or tears unflushed writes; with any
     * other provider a crash only restarts the engine on it.
     */
    public Builder replicaStorage(Supplier<? extends StorageProvider> storage) {
      this.replicaStorage = Objects.requireNonNull(storage, "storage");
      return this;
    }

    /** Makes the primary machine's disks; in-memory disks by default. */
    public Builder primaryDisks(Function<DiskSpec, VirtualDisk> factory) {
      this.primaryDisks = Objects.requireNonNull(factory, "factory");
      return this;
    }

    /**
     * Receives every line of the run's trace as it happens, each prefixed with the simulated time:
     * what the hosts reported, the faults, the cuts. The report of a failure keeps only the last
     * lines; this sees them all.
     */
    public Builder trace(Consumer<String> lines) {
      this.trace = Objects.requireNonNull(lines, "lines");
      return this;
    }

    /** Breaks both hosts' engines in the way {@code mutation} names: for the simulation's own tests. */
    Builder mutation(Mutation mutation) {
      this.mutation = Objects.requireNonNull(mutation, "mutation");
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
    final StorageProvider replicaStorage = Objects.requireNonNull(Simulation.this.replicaStorage.get(),
        "the replica storage supplier returned null");
    final SplittableRandom random = new SplittableRandom(seed);
    final ManualClock clock = new ManualClock(Instant.parse("2026-01-01T00:00:00Z"));
    final ManualScheduler scheduler = new ManualScheduler(clock);
    final InMemoryNetwork network = new InMemoryNetwork(scheduler, 16 * 1024);
    /** The primary host's state (tracking, activity log): it outlives the primary's crashes. */
    final InMemoryStateStore primaryState = new InMemoryStateStore();
    /** Where the primary host keeps a replica once replication is reversed to it. */
    final InMemoryStorageProvider primaryHostStorage = new InMemoryStorageProvider();
    final FaultPlan plan = FaultPlan.generate(seed, scenario, steps, 12);
    final Map<FaultKind, Integer> injected = new EnumMap<>(FaultKind.class);
    final ArrayDeque<String> lastEvents = new ArrayDeque<>();
    final List<HostEvent> events = new ArrayList<>();
    long trace = 0xcbf29ce484222325L;
    int step;

    final VirtualMachine vm;
    final List<VirtualDisk> disks = new ArrayList<>();
    final WorkloadGenerator workload;
    final ReplicationSettings settings;
    final ReplicaServerSettings serverSettings = ReplicaServerSettings.builder()
        .allowedAuthenticationTypes(java.util.Set.of(AuthenticationType.CERTIFICATE))
        .allowAnyAuthenticatedServer(LOCATION).build();

    @Nullable ReplicationManager primary;
    @Nullable ReplicationManager replica;
    /** Whether the machine runs on the primary host; an operator shuts it down for a planned failover. */
    volatile io.replica.spi.host.PowerState power = io.replica.spi.host.PowerState.RUNNING;
    /** Once the run's final failover began, roles change: events are recorded, not checked. */
    boolean finalAct;
    /** Blocks of the replica were changed behind the engine's back and verify has not repaired them. */
    boolean silentlyCorrupted;
    /**
     * Whether the first disk's storage leaves {@link #LIE_OFFSET} out of its allocated ranges. Data
     * there before replication began is not copied; the checks leave that range out of the first
     * disk until an online verify has found and repaired what differs.
     */
    final boolean lyingAllocation;
    boolean lieMasked;
    final java.util.Set<Long> pointsSeen = new java.util.HashSet<>();
    int testFailoverUntil = -1;
    int resyncCancelAt = -1;
    int resyncRestartAt = -1;
    @Nullable RecoveryPoint testPoint;
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

    /** When the counted faults armed toward the replica, and toward the primary, end. */
    @Nullable Instant burstTowardReplicaUntil;
    @Nullable Instant burstTowardPrimaryUntil;
    /** Cycles the replica applied before the faults stopped. */
    long appliedUnderFaults;
    long failovers;
    /** Since when the hosts could have made progress without a cycle applied. */
    Instant progressSince = clock.instant();
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
      lyingAllocation = scenario != Scenario.FAILOVER && Math.floorMod(seed >> 3, 4) == 0 && diskBytes >= LIE_OFFSET + LIE_LENGTH;
      List<DiskSpec> specs = new ArrayList<>();
      List<VmDisk> vmDisks = new ArrayList<>();
      for (int i = 0; i < 2; i++) {
        DiskSpec spec = DiskSpec.dynamic(diskBytes);
        specs.add(spec);
        VirtualDisk d = primaryDisks.apply(spec);
        disks.add(d);
        // In a quarter of the runs the first disk's storage lies about its allocation.
        VirtualDisk seen = i == 0 && lyingAllocation ? new LyingAllocationDisk(d, LIE_OFFSET, LIE_LENGTH) : d;
        vmDisks.add(new VmDisk(DiskId.of(new UUID(seed, i)), seen, i == 0));
      }
      vm = new VirtualMachine(VmId.of(new UUID(seed, -1)), "sim-" + seed, vmDisks);
      Workload[] kinds = Workload.values();
      workload = WorkloadGenerator.builder(seed).disks(specs).workload(kinds[(int) Math.floorMod(seed, kinds.length)])
          .writeSizeUpTo(16 * 1024).build();
      // Half the runs keep additional recovery points (undo logs), every run of FAILOVER does.
      int additional = scenario == Scenario.FAILOVER || Math.floorMod(seed >> 1, 2) == 1
          ? 1 + (int) Math.floorMod(seed >> 2, 3) : 0;
      settings = ReplicationSettings.builder(REPLICA).authenticationType(AuthenticationType.CERTIFICATE)
          .replicationFrequency(FREQUENCY)
          .recoveryHistory(additional == 0 ? io.replica.api.RecoveryHistory.latestOnly()
              : new io.replica.api.RecoveryHistory(additional, Duration.ofMinutes(1), 0))
          .build();
    }

    SimulationResult execute() {
      Optional<Violation> violation = Optional.empty();
      try {
        if (lyingAllocation) {
          byte[] hidden = new byte[(int) LIE_LENGTH];
          random.nextBytes(hidden);
          disks.get(0).write(LIE_OFFSET, ByteBuffer.wrap(hidden));
          disks.get(0).flush();
          lieMasked = true;
          record("the first disk's storage hides " + LIE_LENGTH + " bytes of data at " + LIE_OFFSET
              + " from its allocated ranges");
        }
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
      return new SimulationResult(seed, scenario, step, injected, applied, appliedUnderFaults, pointsSeen.size(), failovers,
          violation,
          new ArrayList<>(lastEvents), trace);
    }

    // ---- hosts

    void startReplica() {
      int epoch = primaryEpoch;
      ReplicationManager m = ReplicaEngine.builder().hostName(REPLICA).clock(clock).scheduler(replicaScheduler)
          .transport(network.transport(REPLICA)).storage(replicaStorage).build();
      mutate(m);
      m.addListener(e -> events.add(new HostEvent(false, 0, e)));
      replica = m;
      m.setReplicaServerSettings(serverSettings);
      record("replica started (epoch " + epoch + ")");
    }

    /** The primary host's hypervisor: it runs the one machine, and reports whether it is on. */
    final class MachineHost implements io.replica.spi.host.VirtualMachineHost {
      @Override
      public io.replica.spi.host.PowerState powerState(VmId id) {
        return power;
      }

      @Override
      public CompletableFuture<Void> start(VmId id) {
        power = io.replica.spi.host.PowerState.RUNNING;
        return CompletableFuture.completedFuture(null);
      }

      @Override
      public CompletableFuture<Void> stop(VmId id) {
        power = io.replica.spi.host.PowerState.OFF;
        return CompletableFuture.completedFuture(null);
      }

      @Override
      public Optional<VirtualMachine> machine(VmId id) {
        return id.equals(vm.id()) ? Optional.of(vm) : Optional.empty();
      }
    }

    /** CRCs as the checks see them: while a lie is masked, its range of the first disk reads as zeros. */
    long[] crcs(List<VirtualDisk> ds) throws IOException {
      return lieMasked ? Simulation.crcs(ds, LIE_OFFSET, LIE_OFFSET + LIE_LENGTH) : Simulation.crcs(ds);
    }

    /** The 4 KiB blocks in which the replica's latest point differs from the primary's disks now, by disk. */
    Map<DiskId, java.util.TreeSet<Long>> differingBlocks(ReplicationManager r) throws IOException {
      Map<DiskId, java.util.TreeSet<Long>> out = new HashMap<>();
      List<RecoveryPoint> points = r.recoveryPoints(vm.id());
      try (RecoveryPointView v = r.openRecoveryPoint(points.get(points.size() - 1))) {
        List<VirtualDisk> replicaDisks = viewDisks(v);
        ByteBuffer mine = ByteBuffer.allocate(4096);
        ByteBuffer theirs = ByteBuffer.allocate(4096);
        for (int i = 0; i < disks.size(); i++) {
          for (long b = 0; b * 4096 < disks.get(i).sizeBytes(); b++) {
            disks.get(i).read(b * 4096, mine.clear());
            replicaDisks.get(i).read(b * 4096, theirs.clear());
            if (!mine.flip().equals(theirs.flip())) {
              out.computeIfAbsent(vm.disks().get(i).id(), x -> new java.util.TreeSet<>()).add(b);
            }
          }
        }
      }
      return out;
    }

    void mutate(ReplicationManager m) {
      if (mutation != null) {
        ((Engine) m).inject(mutation);
      }
    }

    void startPrimary() {
      primaryEpoch++;
      int epoch = primaryEpoch;
      ReplicationManager m = ReplicaEngine.builder().hostName(PRIMARY).clock(clock).scheduler(scheduler)
          .transport(network.transport(PRIMARY))
          .primaryState(primaryState).virtualMachineHost(new MachineHost()).storage(primaryHostStorage).build();
      mutate(m);
      m.addListener(e -> events.add(new HostEvent(true, epoch, e)));
      primary = m;
      tracker = null;
      unnamedCuts.clear();
      cuts.clear(); // a new primary numbers its cycles anew
      initialDone = false;
      successes = 0;
      missed = 0;
      enabling = m.enableReplication(vm, settings);
      record("primary started (epoch " + epoch + ")");
    }

    /** The primary's tracker of the machine, while it has one (also while it resumes), else null. */
    @Nullable ChangeTracker trackerOf(ReplicationManager p) {
      try {
        return p.changeTracker(vm.id());
      } catch (io.replica.api.NotFoundException notTracked) {
        return null;
      }
    }

    /** Completes a pending enable: starts initial replication, or retries a failed enable. */
    void advanceEnabling() throws IOException {
      ReplicationManager p = primary;
      ChangeTracker current = p == null ? null : trackerOf(p);
      if (current != tracker && current != null) {
        // Tracking starts with the relationship; an enable that failed took its tracker along.
        tracker = current;
        generation = current.openGeneration();
        unnamedCuts.clear();
      }
      if (p != null && enabling == null && !finalAct && p.virtualMachines().contains(vm.id())
          && p.mode(vm.id()) == ReplicationMode.PRIMARY
          && p.state(vm.id()) == ReplicationState.READY_FOR_INITIAL_REPLICATION) {
        // A primary that resumed before any first copy completed waits for the operator to start it.
        record("initial replication started again");
        p.startInitialReplication(vm.id());
      }
      CompletableFuture<Void> f = enabling;
      if (f == null || !f.isDone() || p == null) {
        return;
      }
      enabling = null;
      if (f.isCompletedExceptionally()) {
        if (trackerOf(primary) == null) {
          record("enable failed (" + failure(f) + "); retrying");
          enabling = primary.enableReplication(vm, settings);
          return;
        }
        // Resumed from the state store: it tracks, and reaches the replica by itself.
        record("enable resumed; the replica is not reachable yet");
      }
      if (primary.virtualMachines().contains(vm.id())
          && primary.state(vm.id()) == ReplicationState.READY_FOR_INITIAL_REPLICATION) {
        primary.startInitialReplication(vm.id());
      }
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
      ReplicationManager r = Objects.requireNonNull(replica);
      if (r.virtualMachines().contains(vm.id()) && r.testFailover(vm.id()).isPresent() && testFailoverUntil < 0) {
        record("a test failover was restored at the restart");
        testFailoverUntil = step + 1; // the operator stops it
      }
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
      // The host loses what the guest and the engine had not flushed, torn at sector granularity.
      java.util.Random torn = new java.util.Random(random.nextLong());
      for (VirtualDisk d : disks) {
        if (d instanceof InMemoryVirtualDisk memory) {
          memory.simulateCrash(torn);
        }
      }
      primaryState.simulateCrash(torn);
      primaryHostStorage.simulateCrash(torn);
      record("primary crashed");
      startPrimary();
    }

    // ---- steps

    void act() throws IOException {
      if (random.nextInt(100) < 35) {
        ReplicationManager p = primary;
        ChangeTracker t = p == null ? null : trackerOf(p);
        boolean tracked = t != null;
        if (!tracked && primaryState.list("").stream().anyMatch(n -> n.contains(vm.id().toString()))) {
          // A machine that was replicated runs again only once its host tracks it again.
          record("guest waits for tracking");
          return;
        }
        boolean flush = random.nextInt(100) < 25;
        for (GuestWrite w : workload.next(1 + random.nextInt(3))) {
          VirtualDisk d = tracked ? t.trackedDisk(vm.disks().get(w.diskIndex()).id())
              : disks.get(w.diskIndex());
          d.write(w.offsetBytes(), ByteBuffer.wrap(w.data()));
          if (flush) {
            d.flush();
          }
        }
        record(flush ? "guest wrote and flushed" : "guest wrote");
      } else {
        int tasks = 1 + random.nextInt(TASKS_PER_STEP_MAX);
        for (int i = 0; i < tasks; i++) {
          if (!scheduler.runNext()) {
            clock.advance(Duration.ofSeconds(1));
            record("idle");
            break;
          }
          endBursts();
          afterStep();
        }
      }
    }

    void afterStep() throws IOException {
      advanceEnabling();
      noticeCut();
      processEvents();
      checkDurability();
      checkProgress();
    }

    /**
     * Counts how long the hosts could have replicated without applying a cycle: only while both
     * run, the link is not partitioned, the replica has space, no view of a point is open and the
     * operator has not suspended replication. Lost, duplicated, reordered, corrupted and delayed messages and a slow replica
     * disk do not excuse a stall.
     */
    void checkProgress() {
      if (finalAct) {
        return;
      }
      // An open view of the latest point holds back applying by design; the journal keeps the cycles.
      boolean hindered = replica == null || partitionUntil >= 0 || diskFullUntil >= 0 || suspendedUntil >= 0
          || view != null || resyncRestartAt >= 0;
      Instant now = clock.instant();
      if (hindered) {
        progressSince = now;
      } else if (Duration.between(progressSince, now).compareTo(STARVED_AFTER) > 0) {
        throw violation(Invariant.KEEPS_REPLICATING, "no cycle applied for " + Duration.between(progressSince, now)
            .toSeconds() + " s while both hosts ran and the link was up (primary "
            + describePrimary() + ")");
      }
    }

    String describePrimary() {
      ReplicationManager p = primary;
      if (p == null || !p.virtualMachines().contains(vm.id())) {
        return "not replicating" + (enabling != null ? ", enable pending" : "");
      }
      return p.state(vm.id()) + ", health " + p.health(vm.id()).state();
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
        record("cut: generation " + generation + " opened, " + unnamedCuts.size() + " unnamed");
      }
    }

    void processEvents() throws IOException {
      for (int i = 0; i < events.size(); i++) {
        HostEvent e = events.get(i);
        record(e.toString());
        if (e.event() instanceof ReplicationEvent.StateChanged c && c.from() != c.to()
            && !StateTable.of(c.mode()).allows(c.from(), c.to())) {
          throw violation(Invariant.STATE_CHANGES_IN_TABLE, (e.primary() ? "the primary host" : "the replica host")
              + " changed " + c.vm() + " as " + c.mode() + " from " + c.from() + " to " + c.to() + " (" + c.reason()
              + "), which the state table does not allow");
        }
        if (!finalAct) {
          onEvent(e);
        }
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
        if (step < steps) {
          appliedUnderFaults++;
        }
        progressSince = clock.instant();
        checkReplicaContent();
      }
    }

    /** The replica's latest point holds the primary's disks at that cut, and never goes back. */
    void checkReplicaContent() throws IOException {
      ReplicationManager r = replica;
      if (r == null || !r.virtualMachines().contains(vm.id()) || silentlyCorrupted) {
        return;
      }
      List<RecoveryPoint> points = r.recoveryPoints(vm.id());
      if (points.isEmpty()) {
        return;
      }
      RecoveryPoint latest = points.get(points.size() - 1);
      if (r.state(vm.id()) == ReplicationState.ERROR) {
        return; // its disks may hold part of a cycle: the latest point is not offered until it applies
      }
      if (latest.cycle() < latestPoint) {
        throw violation(Invariant.RECOVERY_POINTS_STABLE, "the latest recovery point went back from cycle "
            + latestPoint + " to cycle " + latest.cycle());
      }
      latestPoint = latest.cycle();
      for (int i = 0; i < points.size() - 1; i++) {
        pointsSeen.add(points.get(i).cycle());
      }
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
          armBurst(f.towardReplica());
          break;
        case DUPLICATE:
          network.faults().duplicateNext(from, to, f.amount());
          armBurst(f.towardReplica());
          break;
        case REORDER:
          network.faults().reorderNext(from, to, f.amount());
          armBurst(f.towardReplica());
          break;
        case CORRUPT:
          network.faults().corruptNext(from, to, f.amount());
          armBurst(f.towardReplica());
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
        case TEST_FAILOVER:
          applied = startTestFailover(f.amount());
          break;
        case RESYNCHRONIZE:
          applied = resynchronize(f.amount());
          break;
        case WRITE_BURST:
          applied = writeBurst();
          break;
        default:
          throw new IllegalStateException("unknown fault " + f.kind());
      }
      if (applied && f.kind() != FaultKind.DELAY && f.kind() != FaultKind.OPEN_VIEW && f.kind() != FaultKind.SLOW_DISK) {
        progressSince = clock.instant(); // each may cost a message, a connection or a host: one recovery
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
      if (p == null || tracker == null || suspendedUntil >= 0 || !p.virtualMachines().contains(vm.id())) {
        return false;
      }
      ReplicationState s = p.state(vm.id());
      if (s != ReplicationState.REPLICATING && s != ReplicationState.WAITING_FOR_INITIAL_REPLICATION
          && s != ReplicationState.RESYNCHRONIZING) {
        return false;
      }
      p.suspendReplication(vm.id());
      suspendedUntil = step + forSteps;
      return true;
    }

    void armBurst(boolean towardReplica) {
      if (towardReplica) {
        burstTowardReplicaUntil = clock.instant().plus(FAULT_BURST);
      } else {
        burstTowardPrimaryUntil = clock.instant().plus(FAULT_BURST);
      }
    }

    /** Ends the bursts of counted network faults whose time is up. */
    void endBursts() {
      Instant now = clock.instant();
      if (burstTowardReplicaUntil != null && !now.isBefore(burstTowardReplicaUntil)) {
        network.faults().disarm(PRIMARY, REPLICA);
        burstTowardReplicaUntil = null;
      }
      if (burstTowardPrimaryUntil != null && !now.isBefore(burstTowardPrimaryUntil)) {
        network.faults().disarm(REPLICA, PRIMARY);
        burstTowardPrimaryUntil = null;
      }
    }

    /** Starts a test failover of a random kept point; its copy must be exactly that point. */
    boolean startTestFailover(int forSteps) throws IOException {
      ReplicationManager r = replica;
      if (testFailoverUntil >= 0 || r == null || !r.virtualMachines().contains(vm.id())
          || r.state(vm.id()) != ReplicationState.REPLICATING || r.testFailover(vm.id()).isPresent()) {
        return false;
      }
      List<RecoveryPoint> points = r.recoveryPoints(vm.id());
      if (points.isEmpty()) {
        return false;
      }
      RecoveryPoint point = points.get(random.nextInt(points.size()));
      CompletableFuture<VirtualMachine> started = r.startTestFailover(vm.id(), point);
      advanceStepByStep(Duration.ZERO); // the primary may cut meanwhile
      if (!started.isDone() || started.isCompletedExceptionally()) {
        record("test failover of cycle " + point.cycle() + " not started: " + failure(started));
        return false;
      }
      VirtualMachine test = started.join();
      checkCopy(test, point, "the test failover's copy");
      // The operator boots it: writes go to the copy, never to the replica.
      VirtualDisk d = test.disks().get(random.nextInt(test.disks().size())).disk();
      byte[] ones = new byte[4096];
      Arrays.fill(ones, (byte) 0x5a);
      d.write(4096L * random.nextInt((int) (d.sizeBytes() / 4096)), ByteBuffer.wrap(ones));
      testPoint = point;
      testFailoverUntil = step + forSteps;
      failovers++;
      record("test failover of cycle " + point.cycle() + " started");
      return true;
    }

    void stopTestFailover() throws IOException {
      testFailoverUntil = -1;
      RecoveryPoint point = testPoint;
      testPoint = null;
      ReplicationManager r = replica;
      if (r == null || !r.virtualMachines().contains(vm.id()) || r.testFailover(vm.id()).isEmpty()) {
        record("no test failover to stop");
        return;
      }
      CompletableFuture<Void> stopped = r.stopTestFailover(vm.id());
      advanceStepByStep(Duration.ZERO);
      record("test failover stopped" + (stopped.isCompletedExceptionally() ? ": " + failure(stopped) : ""));
      if (point != null && r.recoveryPoints(vm.id()).contains(point)) {
        try (RecoveryPointView v = r.openRecoveryPoint(point)) {
          checkCopyDisks(viewDisks(v), point, "the point after its test failover");
        }
      }
    }

    /** The disks of {@code copy} hold exactly the primary's disks at the cut of {@code point}. */
    void checkCopy(VirtualMachine copy, RecoveryPoint point, String what) throws IOException {
      List<VirtualDisk> out = new ArrayList<>();
      for (VmDisk d : vm.disks()) {
        VirtualDisk found = null;
        for (VmDisk c : copy.disks()) {
          if (c.id().equals(d.id()) || copy.disks().size() == vm.disks().size() && copy.disks().indexOf(c) == vm.disks().indexOf(d)) {
            found = c.disk();
            break;
          }
        }
        out.add(Objects.requireNonNull(found, "disk of the copy"));
      }
      checkCopyDisks(out, point, what);
    }

    void checkCopyDisks(List<VirtualDisk> copy, RecoveryPoint point, String what) throws IOException {
      long[] expected = cuts.get(point.cycle());
      if (expected == null) {
        return; // cut by a primary whose announcement was lost in its crash
      }
      long[] actual = crcs(copy);
      if (!Arrays.equals(expected, actual)) {
        throw violation(Invariant.FAILOVER_AT_CHOSEN_POINT, what + " of cycle " + point.cycle()
            + " differs from the primary at that cut (disk CRCs " + Arrays.toString(actual) + ", expected "
            + Arrays.toString(expected) + ")");
      }
    }

    String failure(CompletableFuture<?> f) {
      if (!f.isDone()) {
        return "not done";
      }
      try {
        f.join();
        return "done";
      } catch (java.util.concurrent.CompletionException | java.util.concurrent.CancellationException e) {
        Throwable c = e.getCause() != null ? e.getCause() : e;
        return c.getClass().getSimpleName() + ": " + c.getMessage();
      }
    }

    void endTimedFaults() throws IOException {
      endBursts();
      cancelOrRestartResync();
      if (testFailoverUntil >= 0 && step >= testFailoverUntil) {
        stopTestFailover();
      }
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
        advanceStepByStep(Duration.ZERO); // the primary may cut meanwhile
        restartReplica();
      }
    }

    void resume() {
      suspendedUntil = -1;
      ReplicationManager p = primary;
      if (p != null && p.virtualMachines().contains(vm.id()) && (p.state(vm.id()) == ReplicationState.SUSPENDED
          || p.state(vm.id()) == ReplicationState.RESYNCHRONIZE_SUSPENDED)) {
        p.resumeReplication(vm.id());
        record("resumed");
      }
    }

    /** The operator resynchronizes; an odd {@code amount} cancels it that many steps later. */
    boolean resynchronize(int amount) {
      ReplicationManager p = primary;
      if (p == null || resyncCancelAt >= 0 || resyncRestartAt >= 0 || !p.virtualMachines().contains(vm.id())) {
        return false;
      }
      ReplicationState s = p.state(vm.id());
      if (s != ReplicationState.REPLICATING && s != ReplicationState.WAITING_FOR_START_RESYNCHRONIZE) {
        return false;
      }
      p.resynchronize(vm.id());
      if (amount % 2 == 1) {
        resyncCancelAt = step + amount;
      }
      return true;
    }

    void cancelOrRestartResync() {
      ReplicationManager p = primary;
      if (p == null || !p.virtualMachines().contains(vm.id())) {
        return;
      }
      ReplicationState s = p.state(vm.id());
      if (resyncCancelAt >= 0 && step >= resyncCancelAt) {
        resyncCancelAt = -1;
        if (s == ReplicationState.RESYNCHRONIZING || s == ReplicationState.RESYNCHRONIZE_SUSPENDED) {
          CompletableFuture<Void> cancelled = p.cancelResynchronization(vm.id());
          record("resynchronization cancelled: " + failure(cancelled));
          resyncRestartAt = step + 5;
        }
      }
      if (resyncRestartAt >= 0 && step >= resyncRestartAt) {
        resyncRestartAt = -1;
        startWaitingResync(p);
      }
    }

    /** A relationship that waits for a resynchronization gets one from the operator. */
    void startWaitingResync(ReplicationManager p) {
      if (p.virtualMachines().contains(vm.id())
          && p.state(vm.id()) == ReplicationState.WAITING_FOR_START_RESYNCHRONIZE) {
        CompletableFuture<Void> started = p.resynchronize(vm.id());
        record("resynchronization started again: " + failure(started));
      }
    }

    /** The guest rewrites one disk whole and a quarter of the other: past the threshold. */
    boolean writeBurst() throws IOException {
      ChangeTracker t = primary == null ? null : trackerOf(primary);
      if (t == null) {
        return false;
      }
      byte[] data = new byte[16 * 1024];
      for (int i = 0; i < vm.disks().size(); i++) {
        VirtualDisk d = t.trackedDisk(vm.disks().get(i).id());
        long end = i == 0 ? d.sizeBytes() : d.sizeBytes() / 4;
        for (long off = 0; off < end; off += data.length) {
          random.nextBytes(data);
          d.write(off, ByteBuffer.wrap(data, 0, (int) Math.min(data.length, end - off)));
        }
      }
      return true;
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
      if (testFailoverUntil >= 0) {
        stopTestFailover();
      }
      resyncCancelAt = -1;
      resyncRestartAt = -1;
      if (primary != null) {
        startWaitingResync(primary);
      }
      noticeCut();
      for (int i = 0; i < 200 && !converged(); i++) {
        advanceStepByStep(Duration.ofSeconds(1));
      }
      if (!converged()) {
        ReplicationManager p = Objects.requireNonNull(primary);
        throw violation(Invariant.CONVERGES, "200 s after the faults stopped the replica is at cycle "
            + latestPoint + " while the primary is " + (p.virtualMachines().contains(vm.id())
                ? p.state(vm.id()) + " with " + p.changeTracker(vm.id()).pendingBytes() + " bytes pending"
                : "not replicating"));
      }
      advanceStepByStep(Duration.ZERO); // events still on their way count too
      ReplicationManager r = Objects.requireNonNull(replica);
      List<RecoveryPoint> points = r.recoveryPoints(vm.id());
      try (RecoveryPointView v = r.openRecoveryPoint(points.get(points.size() - 1))) {
        if (!Arrays.equals(crcs(disks), crcs(viewDisks(v)))) {
          throw violation(Invariant.CONVERGES, "the replica caught up to cycle " + v.point().cycle()
              + " but differs from the idle primary");
        }
      }
      checkStatistics();
      if (scenario == Scenario.FAILOVER) {
        finalFailover();
      } else {
        // Not before a failover: a block changed behind the engine's back is wrong in the older
        // points that read it from the disk too, and verify repairs the latest point only.
        verifyFindsSilentCorruption();
      }
    }

    // ---- silent corruption and online verify

    /**
     * Changes a few blocks of the replica's disks behind the engine's back, as a bad sector or a
     * stray tool would; an online verify must report each of them, nothing else, and the
     * resynchronization it starts must make the replica right.
     */
    void verifyFindsSilentCorruption() throws IOException {
      ReplicationManager p = Objects.requireNonNull(primary);
      ReplicationManager r = Objects.requireNonNull(replica);
      int blockBytes = 4096;
      if (replicaStorage instanceof InMemoryStorageProvider memory) {
        Map<DiskId, java.util.TreeSet<Long>> corrupted = new HashMap<>();
        for (int k = 1 + random.nextInt(3); k > 0; k--) {
          VmDisk d = vm.disks().get(random.nextInt(vm.disks().size()));
          long block = random.nextLong(d.disk().sizeBytes() / blockBytes);
          try (VirtualDisk replicaDisk = memory.location(LOCATION).disks().open(vm.id() + "/disks/" + d.id(), false)) {
            ByteBuffer b = ByteBuffer.allocate(blockBytes);
            replicaDisk.read(block * blockBytes, b);
            int at = random.nextInt(blockBytes);
            b.put(at, (byte) ~b.get(at));
            replicaDisk.write(block * blockBytes, b.flip());
            replicaDisk.flush();
          }
          corrupted.computeIfAbsent(d.id(), x -> new java.util.TreeSet<>()).add(block);
        }
        record("replica blocks changed behind the engine: " + corrupted);
      }
      silentlyCorrupted = true; // the replica may be wrong until verify repairs it
      lieMasked = false;
      Map<DiskId, java.util.TreeSet<Long>> expected = differingBlocks(r);
      record("blocks in which the replica differs from the primary: " + expected);
      CompletableFuture<io.replica.api.VerificationResult> verified = p.verify(vm.id());
      for (int i = 0; i < 900 && !verified.isDone(); i++) {
        advanceStepByStep(Duration.ofSeconds(1));
      }
      if (!verified.isDone() || verified.isCompletedExceptionally()) {
        throw violation(Invariant.VERIFY_FINDS_SILENT_CORRUPTION, "the online verify did not complete within"
            + " 900 s: " + failure(verified));
      }
      io.replica.api.VerificationResult result = verified.join();
      record("verify: " + result.comparedBytes() + " bytes compared, differences " + result.differences());
      for (VmDisk d : vm.disks()) {
        java.util.TreeSet<Long> wrong = expected.getOrDefault(d.id(), new java.util.TreeSet<>());
        java.util.TreeSet<Long> reported = new java.util.TreeSet<>();
        for (io.replica.api.VerificationResult.DifferingRange range : result.differences(d.id())) {
          for (long b = range.offsetBytes() / blockBytes; b * blockBytes < range.offsetBytes() + range.lengthBytes(); b++) {
            reported.add(b);
          }
        }
        if (!wrong.equals(reported)) {
          throw violation(Invariant.VERIFY_FINDS_SILENT_CORRUPTION, "the online verify reported blocks " + reported
              + " of disk " + d.id() + ", but the replica differs from the primary in blocks " + wrong);
        }
      }
      for (int i = 0; i < 300; i++) {
        advanceStepByStep(Duration.ofSeconds(1));
        if (p.state(vm.id()) == ReplicationState.REPLICATING && p.changeTracker(vm.id()).pendingBytes() == 0
            && matchesPrimary(r)) {
          silentlyCorrupted = false;
          record("the replica equals the primary after the verify");
          checkReplicaContent();
          return;
        }
      }
      throw violation(Invariant.VERIFY_FINDS_SILENT_CORRUPTION, "300 s after the verify found "
          + result.differences() + " the replica still differs from the primary");
    }

    boolean matchesPrimary(ReplicationManager r) throws IOException {
      List<RecoveryPoint> points = r.recoveryPoints(vm.id());
      if (points.isEmpty()) {
        return false;
      }
      try (RecoveryPointView v = r.openRecoveryPoint(points.get(points.size() - 1))) {
        return Arrays.equals(crcs(disks), crcs(viewDisks(v)));
      }
    }

    // ---- the final failover of the FAILOVER scenario

    void finalFailover() throws IOException {
      finalAct = true;
      ReplicationManager r = Objects.requireNonNull(replica);
      ReplicationManager p = Objects.requireNonNull(primary);
      // The old primary takes replication back into a location of its own.
      p.setReplicaServerSettings(ReplicaServerSettings.builder()
          .allowedAuthenticationTypes(java.util.Set.of(AuthenticationType.CERTIFICATE))
          .allowAnyAuthenticatedServer("returned").build());
      if (random.nextBoolean()) {
        plannedFailover(p, r);
      } else {
        unplannedFailover(r);
      }
    }

    void plannedFailover(ReplicationManager p, ReplicationManager r) throws IOException {
      // The guest wrote last; then the operator shuts the machine down and fails over.
      for (GuestWrite w : workload.next(3)) {
        p.changeTracker(vm.id()).trackedDisk(vm.disks().get(w.diskIndex()).id())
            .write(w.offsetBytes(), ByteBuffer.wrap(w.data()));
      }
      power = io.replica.spi.host.PowerState.OFF;
      long[] atShutdown = crcs(disks);
      CompletableFuture<Void> done = p.plannedFailover(vm.id());
      record("planned failover started");
      for (int i = 0; i < 300 && !(done.isDone() && r.mode(vm.id()) == ReplicationMode.PRIMARY
          && r.state(vm.id()) == ReplicationState.REPLICATING); i++) {
        advanceStepByStep(Duration.ofSeconds(1));
      }
      if (!done.isDone() || done.isCompletedExceptionally() || r.mode(vm.id()) != ReplicationMode.PRIMARY) {
        throw violation(Invariant.PLANNED_FAILOVER_LOSES_NOTHING, "the planned failover did not complete within 300 s: "
            + failure(done) + "; the replica is " + r.mode(vm.id()) + " " + r.state(vm.id()));
      }
      failovers++;
      List<VirtualDisk> newPrimary = trackedDisks(r);
      long[] actual = crcs(newPrimary);
      if (!Arrays.equals(atShutdown, actual)) {
        throw violation(Invariant.PLANNED_FAILOVER_LOSES_NOTHING, "after the planned failover the new primary's"
            + " disks (CRCs " + Arrays.toString(actual) + ") differ from the old primary's at shutdown ("
            + Arrays.toString(atShutdown) + ")");
      }
      record("planned failover done: nothing lost");
      reverseConverges(r, p);
    }

    void unplannedFailover(ReplicationManager r) throws IOException {
      // The primary site is lost.
      network.faults().crash(PRIMARY);
      Objects.requireNonNull(primary).close();
      primary = null;
      record("primary site lost");
      advanceStepByStep(Duration.ofSeconds(30)); // what is journaled applies
      List<RecoveryPoint> points = r.recoveryPoints(vm.id());
      if (points.isEmpty() || points.get(points.size() - 1).cycle() < maxAcked) {
        throw violation(Invariant.FAILOVER_AT_CHOSEN_POINT, "the primary saw cycle " + maxAcked
            + " acknowledged, but the replica offers " + points);
      }
      RecoveryPoint point = points.get(random.nextInt(points.size()));
      VirtualMachine failed = failover(r, point);
      checkCopy(failed, point, "the failed-over machine");
      if (random.nextBoolean()) {
        CompletableFuture<Void> cancelled = r.cancelFailover(vm.id());
        advanceStepByStep(Duration.ofSeconds(1));
        if (cancelled.isCompletedExceptionally() || !r.recoveryPoints(vm.id()).equals(points)) {
          throw violation(Invariant.RECOVERY_POINTS_STABLE, "cancelling the failover to cycle " + point.cycle()
              + " (" + failure(cancelled) + ") left points " + r.recoveryPoints(vm.id()) + " instead of " + points);
        }
        record("failover to cycle " + point.cycle() + " cancelled");
        point = points.get(random.nextInt(points.size()));
        failed = failover(r, point);
        checkCopy(failed, point, "the failed-over machine, after a cancelled failover");
      }
      // The machine runs: the guest writes before the operator commits.
      VirtualDisk d = failed.disks().get(0).disk();
      byte[] data = new byte[4096];
      random.nextBytes(data);
      d.write(0, ByteBuffer.wrap(data));
      long[] beforeCommit = crcs(failed.disks().stream().map(VmDisk::disk).toList());
      CompletableFuture<VirtualMachine> committed = r.commitFailover(vm.id());
      advanceStepByStep(Duration.ofSeconds(1));
      if (!committed.isDone() || committed.isCompletedExceptionally()) {
        throw violation(Invariant.FAILOVER_AT_CHOSEN_POINT, "committing the failover to cycle " + point.cycle()
            + " failed: " + failure(committed));
      }
      long[] afterCommit = crcs(committed.join().disks().stream().map(VmDisk::disk).toList());
      if (!Arrays.equals(beforeCommit, afterCommit)) {
        throw violation(Invariant.FAILOVER_AT_CHOSEN_POINT, "the commit of the failover to cycle " + point.cycle()
            + " changed the disks the machine runs on");
      }
      failovers++;
      record("failover to cycle " + point.cycle() + " committed");
      // The old primary's host comes back (having lost what it had not flushed) and takes replication back.
      java.util.Random torn = new java.util.Random(random.nextLong());
      for (VirtualDisk disk : disks) {
        if (disk instanceof InMemoryVirtualDisk memory) {
          memory.simulateCrash(torn);
        }
      }
      primaryState.simulateCrash(torn);
      primaryHostStorage.simulateCrash(torn);
      primaryEpoch++;
      int epoch = primaryEpoch;
      ReplicationManager old = ReplicaEngine.builder().hostName(PRIMARY).clock(clock).scheduler(scheduler)
          .transport(network.transport(PRIMARY))
          .primaryState(primaryState).virtualMachineHost(new MachineHost()).storage(primaryHostStorage).build();
      old.addListener(e -> events.add(new HostEvent(true, epoch, e)));
      primary = old;
      power = io.replica.spi.host.PowerState.OFF;
      old.setReplicaServerSettings(ReplicaServerSettings.builder()
          .allowedAuthenticationTypes(java.util.Set.of(AuthenticationType.CERTIFICATE))
          .allowAnyAuthenticatedServer("returned").build());
      // The returned host resumes what its state store holds: the machine it was primary for.
      CompletableFuture<Void> resumed = old.enableReplication(vm, settings);
      advanceStepByStep(Duration.ofSeconds(1));
      record("the returned primary resumed: " + failure(resumed));
      CompletableFuture<Void> reversed = r.reverseReplication(vm.id(), ReplicationSettings.builder(PRIMARY)
          .authenticationType(AuthenticationType.CERTIFICATE).replicationFrequency(FREQUENCY).build());
      for (int i = 0; i < 300 && !reversed.isDone(); i++) {
        advanceStepByStep(Duration.ofSeconds(1));
      }
      if (!reversed.isDone() || reversed.isCompletedExceptionally()) {
        throw violation(Invariant.REVERSE_CONVERGES, "reverse replication to the returned primary did not start"
            + " within 300 s: " + failure(reversed));
      }
      record("reverse replication started");
      reverseConverges(r, old);
    }

    VirtualMachine failover(ReplicationManager r, RecoveryPoint point) throws IOException {
      CompletableFuture<VirtualMachine> f = r.failover(vm.id(), point, false);
      for (int i = 0; i < 120 && !f.isDone(); i++) {
        advanceStepByStep(Duration.ofSeconds(1));
      }
      if (!f.isDone() || f.isCompletedExceptionally()) {
        throw violation(Invariant.FAILOVER_AT_CHOSEN_POINT, "the failover to cycle " + point.cycle()
            + " with the primary site lost did not complete: " + failure(f));
      }
      record("failed over to cycle " + point.cycle());
      return f.join();
    }

    /** The new primary's machine writes on; the old primary, now its replica, must catch up. */
    void reverseConverges(ReplicationManager newPrimary, ReplicationManager oldPrimary) throws IOException {
      List<VirtualDisk> running = trackedDisks(newPrimary);
      for (int i = 0; i < 3; i++) {
        byte[] data = new byte[4096];
        random.nextBytes(data);
        VirtualDisk d = running.get(random.nextInt(running.size()));
        d.write(4096L * random.nextInt((int) (d.sizeBytes() / 4096)), ByteBuffer.wrap(data));
      }
      long[] expected = crcs(running);
      for (int i = 0; i < 300; i++) {
        advanceStepByStep(Duration.ofSeconds(1));
        if (newPrimary.changeTracker(vm.id()).pendingBytes() == 0 && oldPrimary.virtualMachines().contains(vm.id())
            && !oldPrimary.recoveryPoints(vm.id()).isEmpty()) {
          List<RecoveryPoint> points = oldPrimary.recoveryPoints(vm.id());
          try (RecoveryPointView v = oldPrimary.openRecoveryPoint(points.get(points.size() - 1))) {
            if (Arrays.equals(expected, crcs(viewDisks(v)))) {
              record("reverse replication caught up");
              return;
            }
          }
        }
      }
      throw violation(Invariant.REVERSE_CONVERGES, "300 s after the failover the old primary's replica of the"
          + " machine is not the new primary's disks (new primary " + newPrimary.state(vm.id()) + ", old primary "
          + (oldPrimary.virtualMachines().contains(vm.id()) ? oldPrimary.mode(vm.id()) + " " + oldPrimary.state(vm.id())
              : "without the machine") + ")");
    }

    List<VirtualDisk> trackedDisks(ReplicationManager m) {
      List<VirtualDisk> out = new ArrayList<>();
      for (VmDisk d : vm.disks()) {
        out.add(m.changeTracker(vm.id()).trackedDisk(d.id()));
      }
      return out;
    }

    /**
     * Moves the clock forward by {@code duration} one task at a time, so that every cut is seen
     * with the disks as they were at that cut.
     */
    void advanceStepByStep(Duration duration) throws IOException {
      Instant target = clock.instant().plus(duration);
      while (scheduler.nextDueTime().filter(due -> !due.isAfter(target)).isPresent()) {
        scheduler.runNext();
        afterStep();
      }
      clock.advance(Duration.between(clock.instant(), target));
      afterStep();
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
      if (traceLines != null) {
        traceLines.accept(clock.instant() + " " + entry);
      }
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

  /** One read buffer per thread: runs of different seeds may go on in parallel. */
  private static final ThreadLocal<ByteBuffer> CRC_BUFFER = ThreadLocal.withInitial(() -> ByteBuffer.allocate(64 * 1024));

  static long[] crcs(List<VirtualDisk> disks) throws IOException {
    return crcs(disks, 0, 0);
  }

  /** The CRC-32C of each disk, reading the bytes in [maskFrom, maskTo) of the first one as zeros. */
  static long[] crcs(List<VirtualDisk> disks, long maskFrom, long maskTo) throws IOException {
    long[] out = new long[disks.size()];
    ByteBuffer buf = CRC_BUFFER.get();
    for (int i = 0; i < disks.size(); i++) {
      VirtualDisk d = disks.get(i);
      CRC32C crc = new CRC32C();
      for (long off = 0; off < d.sizeBytes(); off += buf.capacity()) {
        buf.clear().limit((int) Math.min(buf.capacity(), d.sizeBytes() - off));
        d.read(off, buf);
        buf.flip();
        if (i == 0 && maskFrom < maskTo && off < maskTo && off + buf.limit() > maskFrom) {
          for (long b = Math.max(off, maskFrom); b < Math.min(off + buf.limit(), maskTo); b++) {
            buf.put((int) (b - off), (byte) 0);
          }
        }
        crc.update(buf);
      }
      out[i] = crc.getValue();
    }
    return out;
  }
}
