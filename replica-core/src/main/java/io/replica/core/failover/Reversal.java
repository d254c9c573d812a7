package io.replica.core.failover;

import io.replica.api.AuthorizationEntry;
import io.replica.api.DiskId;
import io.replica.api.ReplicaException;
import io.replica.api.ReplicationMode;
import io.replica.api.ReplicationSettings;
import io.replica.api.ReplicationState;
import io.replica.api.VirtualMachine;
import io.replica.api.VmDisk;
import io.replica.api.VmId;
import io.replica.api.WrongStateException;
import io.replica.api.event.ReplicationEvent;
import io.replica.core.context.Failures;
import io.replica.core.primary.PeerLink;
import io.replica.core.primary.Primaries;
import io.replica.core.primary.PrimaryHost;
import io.replica.core.primary.PrimaryRelationship;
import io.replica.core.primary.ReverseOf;
import io.replica.core.replica.ReplicaHost;
import io.replica.core.replica.ReplicaRecord;
import io.replica.core.replica.ReplicaRelationship;
import io.replica.core.replica.ReplicaServer;
import io.replica.core.tracking.DiskTracker;
import io.replica.core.tracking.VmTracker;
import io.replica.spi.host.PowerState;
import io.replica.spi.host.VirtualMachineHost;
import io.replica.spi.storage.StorageLocation;
import io.replica.spi.storage.StorageProvider;
import io.replica.spi.storage.VirtualDisk;
import io.replica.spi.transport.ConnectOptions;
import io.replica.spi.transport.Connection;
import io.replica.spi.transport.Message;
import java.io.IOException;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
/**
 * Reverse replication: after a failover the machine runs on the former replica, which becomes its
 * primary, and the former primary becomes its replica. This class moves a machine between the two
 * roles of a host, in both directions. Every method runs under the engine's lock.
 */
public final class Reversal {
  private static final Logger LOG = LoggerFactory.getLogger(Reversal.class);

  private final PrimaryHost primaryHost;
  private final ReplicaHost replicaHost;
  private final Primaries primaries;
  private final ReplicaServer replicas;
  private final StorageProvider storage;
  private final @Nullable VirtualMachineHost machines;

  /** {@code primaryHost} and {@code replicaHost} are the same engine, seen by each role. */
  public Reversal(PrimaryHost primaryHost, ReplicaHost replicaHost, Primaries primaries, ReplicaServer replicas,
      StorageProvider storage, @Nullable VirtualMachineHost machines) {
    this.primaryHost = primaryHost;
    this.replicaHost = replicaHost;
    this.primaries = primaries;
    this.replicas = replicas;
    this.storage = storage;
    this.machines = machines;
  }

  /**
   * The former replica of a planned failover replicates back: this host, the former primary, keeps
   * the machine's disks as they are (at the failover's cycle) and becomes its replica.
   */
  public Message.EnableResponse accept(Connection c, AuthorizationEntry entry, Message.EnableRequest req) {
    VmId vm = req.vm();
    // After a restart of this host the relationship may still be connecting to its old replica.
    PrimaryRelationship p = primaries.get(vm);
    ReverseOf asked = ReverseOf.fromWire(req.reverseOfCycle()); // checked on admission
    boolean unplanned = asked instanceof ReverseOf.Unplanned;
    if (p == null) {
      return ReplicaServer.refuse(vm, Message.EnableStatus.REFUSED, "virtual machine " + vm + " failed over to '" + c.peerIdentity()
          + "', but " + replicaHost.hostName() + " does not replicate it; enable replication from '" + c.peerIdentity()
          + "' instead of reversing");
    }
    if (unplanned) {
      PowerState power = machines == null ? null : machines.powerState(vm);
      if (power != PowerState.OFF) {
        return ReplicaServer.refuse(vm, Message.EnableStatus.REFUSED, "virtual machine " + vm + " failed over to '"
            + c.peerIdentity() + "', but on " + replicaHost.hostName() + " it is " + (power == null
                ? "of unknown power state (no VirtualMachineHost)" : power) + "; shut it down to replicate back");
      }
    } else if (p.state() != ReplicationState.PREPARED_FOR_FAILOVER
        || p.lastAcked() != req.reverseOfCycle()) {
      return ReplicaServer.refuse(vm, Message.EnableStatus.REFUSED, "virtual machine " + vm + " is not prepared for failover"
          + " at cycle " + req.reverseOfCycle() + " on " + replicaHost.hostName());
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
          replicaHost.clock().instant().toString(), unplanned, req.additionalRecoveryPoints(), List.of(), true);
      loc.state().write(ReplicaRelationship.recordName(vm), record.toJson());
      ReplicaRelationship r = new ReplicaRelationship(replicaHost, entry.storageLocation(), loc, record, disks);
      r.primaryConnected(c.peerIdentity(), c);
      if (unplanned) {
        sendChangedRanges(c, p);
      }
      primaries.handOver(p);
      replicas.add(r);
      replicaHost.emit(new ReplicationEvent.StateChanged(vm, replicaHost.clock().instant(), ReplicationMode.REPLICA,
          ReplicationState.PREPARED_FOR_FAILOVER, ReplicationState.REPLICATING,
          "reverse replication from '" + c.peerIdentity() + "': this host is now the replica"));
      p.reversed();
      return new Message.EnableResponse(vm, Message.EnableStatus.ACCEPTED, "", held);
    } catch (IOException | RuntimeException e) {
      LOG.warn("cannot take reverse replication of {} from '{}'", vm, c.peerIdentity(), e);
      return ReplicaServer.refuse(vm, Message.EnableStatus.REFUSED, "cannot become the replica of " + vm + " on " + replicaHost.hostName()
          + ": " + Failures.describe(e));
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
  public void afterPlannedFailover(ReplicaRelationship r, Message.FailoverPrepared m) {
    ReplicationSettings settings = ReplicationSettings.builder(m.reverseHost()).replicaServerPort(m.reversePort())
        .authenticationType(m.authentication()).replicationFrequency(m.replicationFrequency())
        .trackingBlockSizeBytes(r.record().trackingBlockSizeBytes())
        .recoveryHistory(r.record().additionalRecoveryPoints() == 0 ? io.replica.api.RecoveryHistory.latestOnly()
            : io.replica.api.RecoveryHistory.additional(r.record().additionalRecoveryPoints()))
        .build();
    reverse(r, settings, new ReverseOf.Planned(m.cycle()));
  }

  /**
   * The operator reverses replication of a machine that failed over to this host (unplanned):
   * it becomes the primary, and a resynchronization repairs what the two sides changed apart.
   */
  public CompletableFuture<Void> afterFailover(VmId vm, ReplicationSettings requested) {
    ReplicaRelationship r = replicas.require(vm);
    if (r.state() != ReplicationState.FAILED_OVER) {
      throw new WrongStateException("reverse replication", vm, r.state(), EnumSet.of(ReplicationState.FAILED_OVER));
    }
    // The disks keep the granularity their history was tracked at.
    ReplicationSettings settings = requested.toBuilder()
        .trackingBlockSizeBytes(r.record().trackingBlockSizeBytes()).build();
    List<VmDisk> vmDisks = new ArrayList<>();
    r.disks().forEach((id, d) -> vmDisks.add(new VmDisk(id, d, vmDisks.isEmpty())));
    primaries.checkSupported(new VirtualMachine(vm, r.record().vmName(), vmDisks), settings);
    try {
      r.forget();
    } catch (IOException e) {
      throw new ReplicaException("cannot release the replica state of " + vm + ": " + Failures.describe(e), e);
    }
    return reverse(r, settings, new ReverseOf.Unplanned());
  }

  /**
   * The machine runs on this host after a failover: it becomes the primary and replicates back,
   * from {@code reverseOf} (a planned failover's cycle) or by resynchronization after an unplanned one.
   */
  private CompletableFuture<Void> reverse(ReplicaRelationship r, ReplicationSettings settings, ReverseOf reverseOf) {
    List<VmDisk> vmDisks = new ArrayList<>();
    r.disks().forEach((id, d) -> vmDisks.add(new VmDisk(id, d, vmDisks.isEmpty())));
    VirtualMachine vm = new VirtualMachine(r.vm, r.record().vmName(), vmDisks);
    Map<DiskId, VirtualDisk> tracked = new LinkedHashMap<>(r.disks());
    VmTracker tracker = primaries.tracker(r.vm, settings, tracked, null);
    PeerLink link = primaries.linkTo(PeerLink.endpointOf(settings), new ConnectOptions(settings.authenticationType(), false));
    CompletableFuture<Void> done = new CompletableFuture<>();
    PrimaryRelationship p = new PrimaryRelationship(primaryHost, vm, settings, tracker, link, done);
    p.reverseOf = reverseOf;
    if (reverseOf instanceof ReverseOf.Unplanned) {
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
    replicas.release(r.vm);
    primaries.enabling(p);
    done.whenComplete((ok, failure) -> {
      if (failure != null) {
        LOG.warn("reverse replication of {} to {} failed: {}; the machine stays failed over here", r.vm,
            link.endpoint, Failures.describe(failure));
        try {
          r.reinstate(tracker);
          replicas.restore(r);
        } catch (IOException | RuntimeException e) {
          LOG.warn("cannot keep {} failed over after its reverse replication failed", r.vm, e);
        } finally {
          tracker.release();
        }
      }
    });
    return done;
  }
}
