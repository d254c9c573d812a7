package io.replica.core.replica;

import io.replica.api.AuthenticationType;
import io.replica.api.AuthorizationEntry;
import io.replica.api.CorruptDataException;
import io.replica.api.DiskId;
import io.replica.api.NotFoundException;
import io.replica.api.ReplicaException;
import io.replica.api.ReplicaServerSettings;
import io.replica.api.ReplicationMode;
import io.replica.api.ReplicationState;
import io.replica.api.VirtualMachine;
import io.replica.api.VmDisk;
import io.replica.api.VmId;
import io.replica.api.WrongStateException;
import io.replica.api.event.ReplicationEvent;
import io.replica.core.context.Failures;
import io.replica.core.context.HostNames;
import io.replica.core.context.SerialExecutor;
import io.replica.core.history.UndoHistory;
import io.replica.core.primary.ReverseOf;
import io.replica.core.journal.CycleJournal;
import io.replica.core.replica.ReplicaHost;
import io.replica.core.replica.ReplicaRecord;
import io.replica.core.replica.ReplicaRelationship;
import io.replica.core.replica.UnreadableReplica;
import io.replica.spi.host.VirtualMachineHost;
import io.replica.spi.storage.DiskSpec;
import io.replica.spi.storage.StorageLocation;
import io.replica.spi.storage.StorageProvider;
import io.replica.spi.storage.VirtualDisk;
import io.replica.spi.transport.Connection;
import io.replica.spi.transport.Endpoint;
import io.replica.spi.transport.Message;
import io.replica.spi.transport.MessageHandler;
import io.replica.spi.transport.Transport;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
/**
 * The replica role of a host: the listeners, the replica machines it keeps (and those whose state
 * could not be read), admission of a primary's machine and the routing of its messages. Every
 * method runs under the engine's lock.
 */
public final class ReplicaServer {
  private static final Logger LOG = LoggerFactory.getLogger(ReplicaServer.class);

  /** Accepts reverse replication of a machine this host ran as primary. */
  public interface ReverseAdmission {
    /** Answers an enable request that reverses a failover; {@code entry} authorized the peer. */
    Message.EnableResponse accept(Connection c, AuthorizationEntry entry, Message.EnableRequest req);
  }

  private final ReplicaHost host;
  private final String listenHost;
  private final Transport transport;
  private final StorageProvider storage;
  private final @Nullable VirtualMachineHost machines;
  private final ReverseAdmission reverse;
  private final Map<VmId, ReplicaRelationship> replicas = new ConcurrentHashMap<>();
  /** Replica machines whose state could not be read at start; the others load without them. */
  private final Map<VmId, UnreadableReplica> unreadable = new ConcurrentHashMap<>();
  /** Listeners by authentication type and port. */
  private final Map<String, Transport.Listener> listening = new LinkedHashMap<>();
  private volatile ReplicaServerSettings serverSettings = ReplicaServerSettings.disabled();

  public ReplicaServer(ReplicaHost host, String listenHost, Transport transport, StorageProvider storage,
      @Nullable VirtualMachineHost machines, ReverseAdmission reverse) {
    this.host = host;
    this.listenHost = listenHost;
    this.transport = transport;
    this.storage = storage;
    this.machines = machines;
    this.reverse = reverse;
  }

  public ReplicaServerSettings settings() {
    return serverSettings;
  }

  /** The replica machine {@code vm}, or null if this host keeps none (or could not read it). */
  public @Nullable ReplicaRelationship get(VmId vm) {
    return replicas.get(vm);
  }

  /** The replica machine {@code vm} whose state could not be read, or null. */
  public @Nullable UnreadableReplica unreadable(VmId vm) {
    return unreadable.get(vm);
  }

  /** Every replica machine, readable or not. */
  public Set<VmId> machines() {
    Set<VmId> all = new TreeSet<>(replicas.keySet());
    all.addAll(unreadable.keySet());
    return all;
  }

  public Collection<ReplicaRelationship> all() {
    return replicas.values();
  }

  /** {@code r} keeps its machine on this host from now on (a reversal made it the replica). */
  public void add(ReplicaRelationship r) {
    replicas.put(r.vm, r);
  }

  /** {@code r} comes back after a reversal that failed, unless another took its place. */
  public void restore(ReplicaRelationship r) {
    replicas.putIfAbsent(r.vm, r);
  }

  /** {@code vm} stops being a replica here (it became the primary); its state stays in storage. */
  public void release(VmId vm) {
    replicas.remove(vm);
  }

  /**
   * Removes replication of {@code vm}: closes it and deletes its journals, history and record.
   *
   * @return false if this host keeps no replica of {@code vm}
   */
  public boolean remove(VmId vm) {
    ReplicaRelationship r = replicas.remove(vm);
    UnreadableReplica u = r == null ? unreadable.remove(vm) : null;
    if (r == null && u == null) {
      return false;
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
      throw new ReplicaException("cannot remove the state of replica " + vm + ": " + Failures.describe(e), e);
    }
    return true;
  }

  /** Stops listening and closes every replica machine. */
  public void close() {
    listening.values().forEach(Transport.Listener::close);
    replicas.values().forEach(ReplicaRelationship::close);
  }

  /**
   * Applies new replica server settings: listeners for the ports that stay are kept, the others
   * closed before new ones bind, and the replica machines in the named storage locations load.
   * Runs under the engine's lock.
   */
  public void apply(ReplicaServerSettings settings) {
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
          host.emit(new ReplicationEvent.HealthChanged(vm, host.clock().instant(), io.replica.api.HealthState.NORMAL,
              u.health()));
        }
      });
    } catch (IOException e) {
      throw new ReplicaException("cannot apply the replica server settings on " + host.hostName() + ": "
          + Failures.describe(e) + "; check the ports and storage locations and apply the settings again", e);
    }
  }

  /** The largest disk a primary may ask a replica to create: 64 TiB, as VHDX. */
  static final long DISK_SIZE_MAX = 64L << 40;

  /** The most disks per machine a replica accepts. */
  static final int DISKS_MAX = 256;

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
          r = new ReplicaRelationship(host, location, loc, record, disks);
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
    String reason = UnreadableReplica.reason(vm, location, file, host.hostName(), Failures.describe(e));
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

  /**
   * What the server settings grant one connection's peer, worked out once per connection and again
   * only when the settings change. Touched on the connection's serial executor, under the lock.
   */
  private final class Admission {
    private @Nullable ReplicaServerSettings decidedBy;
    private Optional<AuthorizationEntry> entry = Optional.empty();

    Optional<AuthorizationEntry> entry(Connection c) {
      ReplicaServerSettings now = serverSettings;
      if (decidedBy != now) {
        decidedBy = now;
        entry = now.authorize(c.peerIdentity());
      }
      return entry;
    }
  }

  private MessageHandler accept(Connection c) {
    SerialExecutor inbound = new SerialExecutor(host.scheduler());
    Admission admission = new Admission();
    return new MessageHandler() {
      @Override
      public void onMessage(Connection conn, Message message) {
        inbound.execute(() -> host.runLocked(() -> onReplicaMessage(conn, message, admission)));
      }

      @Override
      public void onClosed(Connection conn, @Nullable Throwable cause) {
        inbound.execute(() -> host.runLocked(() -> replicas.values().forEach(r -> r.connectionClosed(conn))));
      }
    };
  }

  private void onReplicaMessage(Connection c, Message m, Admission admission) {
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
    Optional<AuthorizationEntry> entry = admission.entry(c);
    if (r == null || entry.isEmpty() || !entry.get().trustGroup().equals(r.record().trustGroup())
        || !entry.get().storageLocation().equals(r.location)) {
      LOG.warn("rejected {} from primary '{}' for virtual machine {}: not authorized for it",
          m.getClass().getSimpleName(), peer, m.vm());
      if (m instanceof Message.CycleBegin b) {
        c.send(new Message.CycleRejected(m.vm(), b.cycle(), "primary '" + peer
            + "' is not authorized for virtual machine " + m.vm() + " on " + host.hostName(), false));
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
      return refuse(vm, Message.EnableStatus.REFUSED, "replication to " + host.hostName() + " is not enabled");
    }
    if (HostNames.same(peer, host.hostName())) {
      // A name that only reached this host through an alias still authenticates as this host.
      LOG.warn("replica server {} refused virtual machine {}: the primary is this host", host.hostName(), vm);
      return refuse(vm, Message.EnableStatus.REFUSED, "primary '" + peer + "' is this host, "
          + host.hostName() + "; a machine cannot replicate to its own host (choose another replica server)");
    }
    Optional<AuthorizationEntry> entry = settings.authorize(peer);
    if (entry.isEmpty()) {
      LOG.warn("replica server {} rejected primary '{}' for virtual machine {}: not in the authorization list",
          host.hostName(), peer, vm);
      return refuse(vm, Message.EnableStatus.NOT_AUTHORIZED, "replica server " + host.hostName()
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
    if (ReverseOf.fromWire(req.reverseOfCycle()) != null) {
      return reverse.accept(c, entry.get(), req);
    }
    ReplicaRelationship existing = replicas.get(vm);
    try {
      if (existing != null) {
        if (!existing.record().trustGroup().equals(entry.get().trustGroup())) {
          return refuse(vm, Message.EnableStatus.NOT_AUTHORIZED, "virtual machine " + vm + " replicates to "
              + host.hostName() + " from trust group '" + existing.record().trustGroup() + "'; primary '" + peer
              + "' is in trust group '" + entry.get().trustGroup() + "'");
        }
        if (!sameDisks(existing.record(), req)) {
          return refuse(vm, Message.EnableStatus.REFUSED, "virtual machine " + vm + " already has a replica"
              + " on " + host.hostName() + " with other disks; remove it on the replica first");
        }
        if (existing.state() == ReplicationState.FAILOVER_WAITING_COMPLETION
            || existing.state() == ReplicationState.FAILED_OVER) {
          return refuse(vm, Message.EnableStatus.REFUSED, "virtual machine " + vm + " failed over on " + host.hostName()
              + " (" + existing.state() + "); it no longer takes changes from '" + peer + "'");
        }
        existing.primaryConnected(peer, c);
        return new Message.EnableResponse(vm, Message.EnableStatus.ACCEPTED, "", existing.lastCommitted());
      }
      ReplicaRelationship r = createReplica(peer, entry.get(), req);
      r.primaryConnected(peer, c);
      replicas.put(vm, r);
      host.emit(new ReplicationEvent.StateChanged(vm, host.clock().instant(), ReplicationMode.REPLICA,
          ReplicationState.WAITING_FOR_INITIAL_REPLICATION, ReplicationState.WAITING_FOR_INITIAL_REPLICATION,
          "replica created for primary '" + peer + "' in " + entry.get().storageLocation()));
      return new Message.EnableResponse(vm, Message.EnableStatus.ACCEPTED, "", -1);
    } catch (IOException | RuntimeException e) {
      LOG.warn("replica server {} cannot take virtual machine {} from '{}'", host.hostName(), vm, peer, e);
      return refuse(vm, Message.EnableStatus.REFUSED, "replica server " + host.hostName() + " cannot store virtual"
          + " machine " + vm + ": " + Failures.describe(e));
    }
  }

  public static Message.EnableResponse refuse(VmId vm, Message.EnableStatus status, String reason) {
    return new Message.EnableResponse(vm, status, reason, -1);
  }

  private static @Nullable String checkRequest(Message.EnableRequest req) {
    if (req.reverseOfCycle() < ReverseOf.WIRE_UNPLANNED) {
      return "virtual machine " + req.vm() + " asks to reverse cycle " + req.reverseOfCycle()
          + "; allowed: -2 (after an unplanned failover), -1 (no reversal) or a cycle number";
    }
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
      return new ReplicaRelationship(host, entry.storageLocation(), loc, record, disks);
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

  public ReplicaRelationship require(VmId vm) {
    ReplicaRelationship r = replicas.get(vm);
    UnreadableReplica u = unreadable.get(vm);
    if (r == null && u != null) {
      throw new WrongStateException(vm, ReplicationState.ERROR, Set.of(), u.reason());
    }
    if (r == null) {
      throw new NotFoundException("virtual machine " + vm + " has no replica on " + host.hostName());
    }
    return r;
  }
}
