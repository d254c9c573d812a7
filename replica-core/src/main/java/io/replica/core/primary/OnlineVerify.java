package io.replica.core.primary;

import io.replica.api.ReplicationSettings;
import io.replica.api.ReplicationState;
import io.replica.api.VerificationResult;
import io.replica.api.VmId;
import io.replica.api.WrongStateException;
import io.replica.api.event.ReplicationEvent;
import io.replica.core.context.Failures;
import io.replica.core.tracking.DiskTracker;
import io.replica.core.tracking.VmTracker;
import io.replica.core.verify.Verification;
import io.replica.spi.time.Cancellable;
import io.replica.spi.transport.Connection;
import io.replica.spi.transport.Message;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.jspecify.annotations.Nullable;
/**
 * The online verify of one primary relationship: one run at a time (started by the operator or on
 * the settings' schedule), its answers and ticks, and what it found until a resynchronization of
 * exactly those ranges repaired it. Runs under the engine's lock.
 */
final class OnlineVerify {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(OnlineVerify.class);

  /** What the verify needs of its relationship. */
  interface Owner {
    /** Whether the relationship replicates with change tracking it can trust: a verify can run. */
    boolean replicating();

    /** The connection to the replica server once it accepted the machine; null otherwise. */
    @Nullable Connection connection();

    long lastAcked();

    /** The number the next cycle will have. */
    long nextCycle();

    /** The ranges found differing are marked: resynchronize them (when replicating) and update health. */
    void repair();
  }

  private final PrimaryHost engine;
  private final VmId vm;
  private final ReplicationSettings settings;
  private final VmTracker tracker;
  private final Owner owner;
  /** The online verify running, if any. */
  private @Nullable Verification verification;
  /** The next scheduled verify. */
  private @Nullable Cancellable timer;
  /** What the last verify found differing, until the resynchronization of those ranges completed. */
  private @Nullable String finding;
  /** The first cycle that can carry the repair of {@link #finding}; -1 with none due. */
  private long repairFrom = -1;

  OnlineVerify(PrimaryHost engine, VmId vm, ReplicationSettings settings, VmTracker tracker, Owner owner) {
    this.engine = engine;
    this.vm = vm;
    this.settings = settings;
    this.tracker = tracker;
    this.owner = owner;
  }

  /**
   * Starts a verify, or joins the one running.
   *
   * @throws WrongStateException naming {@code state} if the relationship cannot verify now
   */
  CompletableFuture<VerificationResult> start(ReplicationState state) {
    Verification running = verification;
    if (running != null) {
      return running.result.copy();
    }
    if (!owner.replicating()) {
      throw new WrongStateException("verify", vm, state, Set.of(ReplicationState.REPLICATING));
    }
    Verification v = new Verification(engine, vm, tracker.disks(), owner::connection, owner::lastAcked,
        this::verified);
    verification = v;
    v.start();
    return v.result.copy();
  }

  void onResponse(Message.VerifyResponse m) {
    Verification v = verification;
    if (v != null) {
      v.onResponse(m);
    }
  }

  void tick() {
    Verification v = verification;
    if (v != null) {
      v.tick();
    }
  }

  void acknowledged(long cycle) {
    Verification v = verification;
    if (v != null) {
      v.acknowledged(cycle);
    }
  }

  /** A resynchronizing cycle was acknowledged: what verify found is repaired once it covers it. */
  void resynchronized(long cycle) {
    if (repairFrom >= 0 && cycle >= repairFrom) {
      finding = null; // the ranges verify found were compared again and sent where they differed
      repairFrom = -1;
    }
  }

  /** What the last verify found differing and is not repaired yet; null if nothing. */
  @Nullable String finding() {
    return finding;
  }

  /** The relationship's state changed: a running verify fails unless it still replicates. */
  void stateChanged(ReplicationState from, ReplicationState to, String reason) {
    Verification v = verification;
    if (v != null && to != ReplicationState.REPLICATING) {
      v.fail(new WrongStateException(vm, to, Set.of(ReplicationState.REPLICATING), "verify of virtual machine "
          + vm + " stopped: replication went from " + from + " to " + to + " (" + reason + "); run it again"
          + " once the machine replicates"));
    }
  }

  /** The relationship stops (removed, or the engine closes): no more verify. */
  void stop(ReplicationState state) {
    if (timer != null) {
      timer.cancel();
      timer = null;
    }
    Verification v = verification;
    if (v != null) {
      v.fail(new WrongStateException(vm, state, Set.of(ReplicationState.REPLICATING), "verify of virtual machine "
          + vm + " stopped: replication from " + engine.hostName() + " stopped or was removed"));
    }
  }

  /** Starts the settings' schedule, if they have one. */
  void scheduleFromSettings() {
    settings.verifyInterval().ifPresent(this::schedule);
  }

  /** A verify ended: report it, and repair what differed by a resynchronization of exactly those ranges. */
  private void verified(Verification v) {
    if (verification == v) {
      verification = null;
    }
    if (!v.result.isDone() || v.result.isCompletedExceptionally()) {
      return; // failed: the caller learns why
    }
    VerificationResult r = v.result.join();
    engine.emit(new ReplicationEvent.VerifyCompleted(vm, engine.clock().instant(), r));
    if (r.matches()) {
      LOG.info("verify of {} compared {} bytes of {} disks with the replica at cycle {}: no range differs", vm,
          r.comparedBytes(), r.disks(), r.cycle());
      return;
    }
    for (VerificationResult.DifferingRange range : r.differences()) {
      for (DiskTracker t : tracker.disks()) {
        if (t.id.equals(range.disk())) {
          t.markDirty(range.offsetBytes(), range.lengthBytes());
        }
      }
    }
    List<VerificationResult.DifferingRange> shown = r.differences().subList(0, Math.min(8, r.differences().size()));
    finding = "verify found " + r.differences().size() + " range" + (r.differences().size() == 1 ? "" : "s")
        + " of the replica differing from the primary at cycle " + r.cycle() + ": " + shown
        + (shown.size() < r.differences().size() ? " and more" : "")
        + "; a resynchronization of those ranges repairs them";
    LOG.warn("{}: {}", vm, finding);
    repairFrom = owner.nextCycle();
    owner.repair();
  }

  /** Schedules the next verify of the schedule in the settings, if it has one. */
  private void schedule(Duration after) {
    if (timer != null) {
      timer.cancel();
      timer = null;
    }
    if (settings.verifyInterval().isEmpty()) {
      return;
    }
    timer = engine.scheduler().schedule(() -> engine.runLocked(this::scheduled), after);
  }

  private void scheduled() {
    timer = null;
    Duration interval = settings.verifyInterval().orElseThrow();
    if (verification != null || !owner.replicating()) {
      schedule(settings.replicationFrequency()); // due: runs once replication goes on
      return;
    }
    schedule(interval);
    start(ReplicationState.REPLICATING).whenComplete((result, failure) -> {
      if (failure != null) {
        engine.emit(new ReplicationEvent.ReplicationFailed(vm, engine.clock().instant(),
            "scheduled verify of virtual machine " + vm + " failed: " + Failures.describe(failure)));
      }
    });
  }
}
