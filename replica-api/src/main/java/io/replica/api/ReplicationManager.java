package io.replica.api;

import io.replica.api.event.ReplicationListener;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * Replication on one host, in both roles: primary for the machines it runs, replica server for
 * the machines other hosts replicate here. Build one with {@code io.replica.core.ReplicaEngine}.
 *
 * <p>Queries answer at once from the engine's current view. Operations that involve a peer or
 * storage return a {@link CompletableFuture} that completes when they are done, or exceptionally
 * with a {@link ReplicaException} (or {@link IllegalArgumentException},
 * {@link UnsupportedOperationException}) that names the machine, the setting or state, and what is
 * allowed; a failed operation changes nothing.
 */
public interface ReplicationManager extends AutoCloseable {

  /** The name this host authenticates as. */
  String hostName();

  // ---- primary role

  /**
   * Enables replication of {@code vm} to the replica server in {@code settings}: the replica
   * agrees and creates the machine's disks, and from then on every write through
   * {@link #changeTracker(VmId)} is tracked. The state becomes
   * {@link ReplicationState#READY_FOR_INITIAL_REPLICATION}.
   *
   * <p>Fails with {@link IllegalArgumentException} if a replicated disk is unknown, the boot disk
   * is left out, the tracking block size does not fit a disk's sectors, or the replica server is
   * this host (as Hyper-V, a host never replicates to itself; a replica server that finds the
   * connecting primary authenticated as its own name refuses too, with a {@link ReplicaException});
   * with
   * {@link WrongStateException} if the machine already replicates; with
   * {@link UnsupportedOperationException} for a setting the engine or transport does not
   * implement; with {@link NotAuthorizedException} if the replica refuses.
   *
   * <p>With a primary state store, enabling a machine this host replicated before it restarted
   * resumes that relationship: no initial replication, only what was not acknowledged travels.
   * If the replica server cannot be reached then, the future fails with a {@link ReplicaException}
   * saying so, but the relationship stays: writes through {@link #changeTracker(VmId)} are
   * tracked and replication goes on by itself once the replica answers. Meanwhile the machine is
   * listed, has a state, health and statistics, and {@link #removeReplication(VmId)} gives up on
   * it; other operations fail with {@link WrongStateException} until the replica accepted it.
   */
  CompletableFuture<Void> enableReplication(VirtualMachine vm, ReplicationSettings settings);

  /**
   * Starts initial replication as the settings say (now or at the start time, at most 7 days
   * ahead); the future completes when the replica holds the first full copy.
   */
  CompletableFuture<Void> startInitialReplication(VmId vm);

  /**
   * Planned failover, started on the primary (Hyper-V's Start-VMFailover -Prepare, failover and
   * Set-VMReplication -Reverse in one): refused unless the machine is off (asked of the builder's
   * {@code VirtualMachineHost}) and this host is a replica server. The changes still pending are
   * sent, the replica fails over at exactly that cycle, and replicates back to this host without an
   * initial replication: no write is lost. The future completes when this host is the replica.
   * Start the machine on the other host afterwards, writing through its change tracker.
   */
  CompletableFuture<Void> plannedFailover(VmId vm);

  /** The tracker through which the embedder routes the machine's guest writes. */
  ChangeTracker changeTracker(VmId vm);

  /**
   * Suspends replication; changes keep being tracked and are sent after
   * {@link #resumeReplication(VmId)}.
   */
  CompletableFuture<Void> suspendReplication(VmId vm);

  /** Resumes a suspended relationship; the next cycle carries everything changed meanwhile. */
  CompletableFuture<Void> resumeReplication(VmId vm);

  /**
   * Resynchronizes (Hyper-V's Resume-VMReplication -Resynchronize): every block is compared by a
   * strong hash with the replica's and only those that differ are sent; the replica's recovery
   * points from before the divergence are kept. Allowed while waiting for a resynchronization or
   * while replicating. {@link #suspendReplication(VmId)} pauses it mid-way and
   * {@link #resumeReplication(VmId)} goes on.
   */
  CompletableFuture<Void> resynchronize(VmId vm);

  /** Stops a resynchronization; it must be started again before replication goes on. */
  CompletableFuture<Void> cancelResynchronization(VmId vm);

  /**
   * Verifies the replica online (DRBD's {@code verify}), on the primary: the replica's latest
   * recovery point is compared by strong hashes, block by block, with this host's disks at the
   * same cut, while replication goes on. Replication trusts its own bookkeeping; this is the check
   * that does not, so it finds what nothing else reports: a replica block changed behind the
   * engine's back, storage that reads back wrong, or a storage whose allocated ranges lie (every
   * block is compared, allocated or not).
   *
   * <p>Blocks the guest writes while they are compared are compared in a later pass, after the
   * next cycle carried them; the primary never pauses. The result lists the ranges that differed
   * and how many bytes were compared; a {@link io.replica.api.event.ReplicationEvent.VerifyCompleted}
   * event carries it too. When ranges differ, health turns critical naming them and a
   * resynchronization of exactly those ranges starts (the state is
   * {@link ReplicationState#RESYNCHRONIZING} until it completed). A verify also runs on its own
   * every {@link ReplicationSettings#verifyInterval()}, when set. While one runs, this returns it.
   *
   * <p>Only the latest recovery point is compared and repaired. An older recovery point that reads
   * a corrupted block from the replica's disk keeps showing the corrupt content after the repair
   * (the repair's cycle keeps what it overwrote, as every cycle does), so after a verify that found
   * ranges, fail over to a point taken after the repair.
   *
   * <p>Fails with {@link WrongStateException} unless the machine is replicating from this host,
   * or if it stops replicating before the verify completed (suspended, resynchronizing, failed
   * over); with {@link ReplicaException} if the replica could not answer for too long.
   */
  CompletableFuture<VerificationResult> verify(VmId vm);

  /**
   * Removes the relationship on this host: on the primary tracking stops and its state is freed;
   * on the replica the relationship's state and journal go, the replica disks stay. This also
   * clears a replica whose state could not be read at start.
   */
  CompletableFuture<Void> removeReplication(VmId vm);

  // ---- replica role

  /**
   * Makes this host a replica server (or stops it being one) with these settings, and loads the
   * replica machines kept in the storage locations they name, as after a restart.
   *
   * <p>A machine whose state cannot be read (a corrupt {@code replica.json}, an unreadable undo log
   * or journal) does not stop the others: it is listed with {@link ReplicationState#ERROR} and
   * {@link HealthState#CRITICAL} health whose reason names the machine and the file and says what
   * to do, its other calls fail with {@link WrongStateException} giving that reason, and every
   * other machine loads and replicates. Restore the file and call this again, or
   * {@link #removeReplication(VmId)} it. Entries under a machine's {@code undo/} folder that the
   * engine did not make are left alone with a warning.
   *
   * @throws ReplicaException if a port cannot be bound or a storage location cannot be opened
   */
  void setReplicaServerSettings(ReplicaServerSettings settings);

  /** The current replica server settings; {@link ReplicaServerSettings#disabled()} by default. */
  ReplicaServerSettings replicaServerSettings();

  /** The recovery points of a replica machine, oldest first. */
  List<RecoveryPoint> recoveryPoints(VmId vm);

  /**
   * Opens the replica machine's disks at {@code point}, read-only.
   *
   * @throws NotFoundException if the point is not (or no longer) kept
   */
  RecoveryPointView openRecoveryPoint(RecoveryPoint point);

  /**
   * Starts a test failover of replica machine {@code vm} from {@code point}: a writable copy named
   * "&lt;name&gt; - Test" whose writes go to disks of their own, for the embedder's
   * {@code VirtualMachineHost} to start. Replication goes on meanwhile and the replica is never
   * touched; a test failover from the latest point keeps that point until the test stops. One at a
   * time per machine; {@link #mode(VmId)} of the copy is {@link ReplicationMode#TEST_REPLICA}.
   */
  CompletableFuture<VirtualMachine> startTestFailover(VmId vm, RecoveryPoint point);

  /** Stops the test failover of {@code vm}: the copy and its writes are deleted. */
  CompletableFuture<Void> stopTestFailover(VmId vm);

  /**
   * The running test failover of replica machine {@code vm}, if any: the copy
   * {@link #startTestFailover} returned. After this host restarts, the copy is there again with
   * every write that a flush of its disks made durable.
   */
  Optional<VirtualMachine> testFailover(VmId vm);

  /**
   * Fails replica machine {@code vm} over to {@code point} (unplanned failover): it stops taking
   * cycles and returns a writable machine at that point. Refused while the primary is connected and
   * replicating, unless {@code force}. Then {@link #commitFailover(VmId)} or
   * {@link #cancelFailover(VmId)}.
   */
  CompletableFuture<VirtualMachine> failover(VmId vm, RecoveryPoint point, boolean force);

  /** Cancels a failover awaiting completion: its writes are dropped and replication resumes. */
  CompletableFuture<Void> cancelFailover(VmId vm);

  /**
   * Completes a failover: the replica disks become the machine at the chosen point plus what was
   * written since, the other recovery points are removed, and the state is
   * {@link ReplicationState#FAILED_OVER}. Returns the machine on its own disks.
   */
  CompletableFuture<VirtualMachine> commitFailover(VmId vm);

  /**
   * Imports an initial replication that the primary exported to {@code location} (a folder on
   * media carried here, as this host's storage provider reads it): the replica machine's disks
   * become the exported ones, and the changes tracked on the primary since then follow over the
   * network.
   */
  CompletableFuture<Void> importInitialReplication(VmId vm, String location);

  /**
   * Replicates a machine that failed over to this host (unplanned) back to its former primary,
   * named in {@code settings}: once the old primary is back and the machine is off there, it
   * becomes the replica, every block is compared by hash, and only the blocks that differ travel.
   * Start the machine here after this, writing through its change tracker.
   */
  CompletableFuture<Void> reverseReplication(VmId vm, ReplicationSettings settings);

  /**
   * Estimates the storage a recovery history setting would take for replica machine {@code vm},
   * from the churn its cycles showed so far: each kept point holds the old contents of the blocks
   * first overwritten in its interval. Zero before two cycles were applied.
   *
   * @throws NotFoundException if {@code vm} has no replica here
   */
  long estimateRecoveryHistoryBytes(VmId vm, RecoveryHistory history);

  // ---- both roles

  /**
   * The machines this host replicates, in either role, including a machine resumed after a restart
   * whose replica has not answered yet.
   */
  Set<VmId> virtualMachines();

  /** This host's role for {@code vm}. */
  ReplicationMode mode(VmId vm);

  /** The relationship's state. */
  ReplicationState state(VmId vm);

  /** The relationship's health by Hyper-V's rules. */
  ReplicationHealth health(VmId vm);

  /** The statistics of the current window. */
  ReplicationStatistics statistics(VmId vm);

  /** Starts a new statistics window now. */
  void resetStatistics(VmId vm);

  /** The settings the relationship runs with. */
  ReplicationSettings settings(VmId vm);

  /** Registers a listener for every relationship's events. */
  void addListener(ReplicationListener listener);

  /** Unregisters a listener. */
  void removeListener(ReplicationListener listener);

  /** Stops cycles, closes connections and stores; the replica's state stays durable. */
  @Override
  void close();
}
