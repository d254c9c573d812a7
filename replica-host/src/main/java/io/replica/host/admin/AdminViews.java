package io.replica.host.admin;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.replica.api.NotFoundException;
import io.replica.api.RecoveryPoint;
import io.replica.api.ReplicaException;
import io.replica.api.ReplicationHealth;
import io.replica.api.ReplicationManager;
import io.replica.api.ReplicationMode;
import io.replica.api.ReplicationSettings;
import io.replica.api.ReplicationState;
import io.replica.api.ReplicationStatistics;
import io.replica.api.VerificationResult;
import io.replica.api.VirtualMachine;
import io.replica.api.VmId;
import io.replica.api.event.ReplicationEvent;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import org.jspecify.annotations.Nullable;

/**
 * The JSON answers of the management API (summary, details, statistics, recovery points,
 * machines, verification), as docs/admin-api.md lists their fields. It keeps the progress of
 * initial replications, which the engine reports only as events.
 */
final class AdminViews {
  private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

  private final ReplicationManager manager;
  private final MachineCatalog catalog;
  private final Map<VmId, Progress> progress = new ConcurrentHashMap<>();

  AdminViews(ReplicationManager manager, MachineCatalog catalog) {
    this.manager = manager;
    this.catalog = catalog;
  }

  /** The last two progress reports of an initial replication or resynchronization. */
  private record Progress(long bytesDone, long bytesTotal, Instant time,
      @Nullable Progress before) {}

  /** Keeps the progress of initial replications, which statistics do not carry. */
  void onEvent(ReplicationEvent event) {
    if (event instanceof ReplicationEvent.InitialReplicationProgress p) {
      progress.compute(p.vm(), (k, old) -> new Progress(p.bytesDone(), p.bytesTotal(), p.time(),
          old == null ? null : new Progress(old.bytesDone, old.bytesTotal, old.time, null)));
    }
  }

  /** A new initial replication or resynchronization starts without the last one's progress. */
  void forgetProgress(VmId id) {
    progress.remove(id);
  }

  /** The test failover machine of {@code id}, if one runs. */
  Optional<VirtualMachine> testMachine(VmId id) {
    try {
      return manager.testFailover(id);
    } catch (ReplicaException | IllegalStateException e) {
      return Optional.empty();
    }
  }

  private Optional<String> name(VmId id) {
    return catalog.machine(id.toString()).map(VirtualMachine::name);
  }

  // ---- views

  /** Every machine the engine knows: {@code GET /v1/vms}. */
  ObjectNode list() {
    ArrayNode a = JSON.arrayNode();
    for (VmId id : new TreeSet<>(manager.virtualMachines())) {
      try {
        a.add(summary(id));
      } catch (NotFoundException e) {
        // Removed while listing.
      }
    }
    ObjectNode n = JSON.objectNode();
    n.put("host", manager.hostName());
    n.set("vms", a);
    return n;
  }

  private ObjectNode summary(VmId id) {
    ObjectNode n = JSON.objectNode();
    n.put("id", id.toString());
    Optional<String> name = name(id);
    name.ifPresentOrElse(v -> n.put("name", v), () -> n.putNull("name"));
    ReplicationMode mode = manager.mode(id);
    ReplicationState state = manager.state(id);
    n.put("mode", mode.name());
    n.put("state", state.name());
    n.put("health", manager.health(id).state().name());
    if (mode == ReplicationMode.PRIMARY) {
      try {
        ReplicationSettings s = manager.settings(id);
        n.put("replicaServer", s.replicaServer());
        n.put("replicaServerPort", s.replicaServerPort());
      } catch (ReplicaException | IllegalStateException e) {
        n.putNull("replicaServer");
      }
    }
    Instant last = manager.statistics(id).lastReplicationTime();
    n.put("lastReplicationTime", last == null ? null : last.toString());
    Progress p = progress.get(id);
    if (p != null && (state == ReplicationState.WAITING_FOR_INITIAL_REPLICATION
        || state == ReplicationState.READY_FOR_INITIAL_REPLICATION
        || state == ReplicationState.RESYNCHRONIZING)) {
      ObjectNode pn = n.putObject("progress");
      pn.put("bytesDone", p.bytesDone);
      pn.put("bytesTotal", p.bytesTotal);
      if (p.before != null && p.time.isAfter(p.before.time)) {
        double seconds = Duration.between(p.before.time, p.time).toNanos() / 1e9;
        pn.put("bytesPerSecond", (long) ((p.bytesDone - p.before.bytesDone) / seconds));
      }
    }
    return n;
  }

  /** One machine's details. */
  ObjectNode one(VmId id) {
    ObjectNode n = summary(id);
    ReplicationHealth h = manager.health(id);
    ArrayNode reasons = n.putArray("healthReasons");
    h.reasons().forEach(reasons::add);
    if (manager.mode(id) == ReplicationMode.PRIMARY) {
      try {
        n.set("settings", SettingsJson.toJson(manager.settings(id)));
      } catch (ReplicaException | IllegalStateException e) {
        // No settings to show in this state.
      }
    }
    testMachine(id).ifPresent(m -> n.set("testMachine", machine(m)));
    return n;
  }

  static ObjectNode statistics(ReplicationStatistics s) {
    ObjectNode n = JSON.objectNode();
    n.put("id", s.vm().toString());
    n.put("windowStart", s.windowStart().toString());
    n.put("windowEnd", s.windowEnd().toString());
    n.put("averageReplicationSizeBytes", s.averageReplicationSizeBytes());
    n.put("maximumReplicationSizeBytes", s.maximumReplicationSizeBytes());
    n.put("averageLatencyMillis", s.averageLatency().toMillis());
    n.put("maximumLatencyMillis", s.maximumLatency().toMillis());
    n.put("successfulReplicationCount", s.successfulReplicationCount());
    n.put("missedReplicationCount", s.missedReplicationCount());
    n.put("replicationErrors", s.replicationErrors());
    n.put("networkFailureCount", s.networkFailureCount());
    n.put("pendingReplicationSizeBytes", s.pendingReplicationSizeBytes());
    n.put("initialReplicationSizeBytes", s.initialReplicationSizeBytes());
    Instant last = s.lastReplicationTime();
    n.put("lastReplicationTime", last == null ? null : last.toString());
    n.put("lastAppliedCycle", s.lastAppliedCycle());
    return n;
  }

  static ObjectNode point(RecoveryPoint p) {
    ObjectNode n = JSON.objectNode();
    n.put("cycle", p.cycle());
    n.put("time", p.time().toString());
    n.put("type", p.type().name());
    return n;
  }

  static ObjectNode machine(VirtualMachine m) {
    ObjectNode n = JSON.objectNode();
    n.put("id", m.id().toString());
    n.put("name", m.name());
    ArrayNode disks = n.putArray("disks");
    m.disks().forEach(d -> disks.add(d.id().toString()));
    return n;
  }

  static ObjectNode verification(VerificationResult r) {
    ObjectNode n = JSON.objectNode();
    n.put("id", r.vm().toString());
    n.put("time", r.time().toString());
    n.put("cycle", r.cycle());
    n.put("disks", r.disks());
    n.put("comparedBytes", r.comparedBytes());
    n.put("uncomparedBytes", r.uncomparedBytes());
    n.put("matches", r.matches());
    ArrayNode d = n.putArray("differences");
    for (VerificationResult.DifferingRange range : r.differences()) {
      ObjectNode rn = d.addObject();
      rn.put("disk", range.disk().toString());
      rn.put("offsetBytes", range.offsetBytes());
      rn.put("lengthBytes", range.lengthBytes());
    }
    return n;
  }

  /** The answer to an operation that leaves no machine to show. */
  static ApiResponse ok(String outcome, VmId id) {
    ObjectNode n = JSON.objectNode();
    n.put("id", id.toString());
    n.put("result", outcome);
    return ApiResponse.ok(n);
  }
}
