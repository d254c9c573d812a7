package io.replica.host.admin;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.replica.api.AuthenticationType;
import io.replica.api.DiskId;
import io.replica.api.NotAuthorizedException;
import io.replica.api.NotFoundException;
import io.replica.api.RecoveryHistory;
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
import io.replica.api.WrongStateException;
import io.replica.api.event.ReplicationEvent;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The resources of the management API over a {@link ReplicationManager} and a
 * {@link MachineCatalog}, free of HTTP plumbing: a method, the decoded path segments, the query
 * and the body in; a status and a JSON body out. docs/admin-api.md describes every resource.
 */
final class AdminApi {
  private static final Logger LOG = LoggerFactory.getLogger(AdminApi.class);
  private static final JsonNodeFactory JSON = JsonNodeFactory.instance;
  /** Something that looks like a UUID attempt rather than a machine name. */
  private static final Pattern UUID_LIKE = Pattern.compile(
      "[0-9a-fA-F]{8}-[0-9a-fA-F-]{8,40}|[^-]{8}-[^-]{4}-[^-]{4}-[^-]{4}-[^-]{12}");
  private static final int NAME_CHARS_MAX = 256;

  private final ReplicationManager manager;
  private final MachineCatalog catalog;
  private final ObjectMapper mapper;
  private final Map<VmId, Progress> progress = new ConcurrentHashMap<>();

  /** The last two progress reports of an initial replication or resynchronization. */
  private record Progress(long bytesDone, long bytesTotal, Instant time,
      @Nullable Progress before) {}

  AdminApi(ReplicationManager manager, MachineCatalog catalog, ObjectMapper mapper) {
    this.manager = manager;
    this.catalog = catalog;
    this.mapper = mapper;
  }

  /** Keeps the progress of initial replications, which statistics do not carry. */
  void onEvent(ReplicationEvent event) {
    if (event instanceof ReplicationEvent.InitialReplicationProgress p) {
      progress.compute(p.vm(), (k, old) -> new Progress(p.bytesDone(), p.bytesTotal(), p.time(),
          old == null ? null : new Progress(old.bytesDone, old.bytesTotal, old.time, null)));
    }
  }

  /**
   * Answers one request; never completes exceptionally: failures become error responses.
   *
   * @param segments the path's segments, each percent-decoded
   */
  CompletableFuture<ApiResponse> handle(String method, List<String> segments,
      Map<String, List<String>> query, byte[] body) {
    try {
      return route(method, segments, query, body).exceptionally(AdminApi::failure);
    } catch (RuntimeException e) {
      return CompletableFuture.completedFuture(failure(e));
    }
  }

  private CompletableFuture<ApiResponse> route(String method, List<String> s,
      Map<String, List<String>> query, byte[] body) {
    if (s.size() < 2 || !s.get(0).equals("v1") || !s.get(1).equals("vms")) {
      throw ApiException.notFound("no such resource; the API's resources are under /v1/vms"
          + " (see docs/admin-api.md)");
    }
    if (s.size() == 2) {
      expect(method, "GET");
      return done(list());
    }
    String vm = s.get(2);
    String resource = String.join("/", s.subList(3, s.size()));
    switch (resource) {
      case "":
        if (method.equals("DELETE")) {
          VmId id = resolve(vm);
          return catalog.remove(manager, id).thenApply(v -> ok("removed", id));
        }
        expect(method, "GET", "DELETE");
        return done(one(resolve(vm)));
      case "statistics":
        expect(method, "GET");
        return done(statistics(manager.statistics(resolve(vm))));
      case "statistics/reset": {
        expect(method, "POST");
        VmId id = resolve(vm);
        manager.resetStatistics(id);
        return done(statistics(manager.statistics(id)));
      }
      case "recovery-points": {
        expect(method, "GET");
        VmId id = resolve(vm);
        ArrayNode a = JSON.arrayNode();
        for (RecoveryPoint p : manager.recoveryPoints(id)) {
          a.add(point(p));
        }
        ObjectNode n = JSON.objectNode();
        n.put("id", id.toString());
        n.set("recoveryPoints", a);
        return done(n);
      }
      case "enable": {
        expect(method, "POST");
        VirtualMachine machine = catalog.machine(checkedName(vm)).orElseThrow(() ->
            ApiException.notFound("no virtual machine '" + vm + "' is configured on host '"
                + manager.hostName() + "' (add it to the host's configuration first)"));
        ReplicationSettings settings = settings(object(body), Set.of());
        return catalog.enable(manager, machine, settings)
            .thenApply(v -> ApiResponse.ok(one(machine.id())));
      }
      case "settings":
        throw new ApiException(405, "bad-request", "changing the settings of a replicating"
            + " machine is not supported by this engine; remove replication and enable it again"
            + " with the new settings");
      case "initial-replication": {
        expect(method, "POST");
        VmId id = resolve(vm);
        return started(id, manager.startInitialReplication(id), "initial replication");
      }
      case "suspend": {
        expect(method, "POST");
        VmId id = resolve(vm);
        return manager.suspendReplication(id).thenApply(v -> ApiResponse.ok(one(id)));
      }
      case "resume": {
        expect(method, "POST");
        VmId id = resolve(vm);
        if (flag(query, "resync")) {
          return started(id, manager.resynchronize(id), "resynchronization");
        }
        return manager.resumeReplication(id).thenApply(v -> ApiResponse.ok(one(id)));
      }
      case "verify": {
        expect(method, "POST");
        VmId id = resolve(vm);
        return manager.verify(id).thenApply(r -> ApiResponse.ok(verification(r)));
      }
      case "test-failover": {
        expect(method, "POST");
        VmId id = resolve(vm);
        RecoveryPoint p = chosenPoint(id, object(body), Set.of());
        return manager.startTestFailover(id, p).thenApply(m -> {
          catalog.attached(m);
          ObjectNode n = JSON.objectNode();
          n.put("id", id.toString());
          n.set("recoveryPoint", point(p));
          n.set("testMachine", machine(m));
          return ApiResponse.ok(n);
        });
      }
      case "test-failover/stop": {
        expect(method, "POST");
        VmId id = resolve(vm);
        Optional<VirtualMachine> test = manager.testFailover(id);
        return manager.stopTestFailover(id).thenApply(v -> {
          test.ifPresent(t -> catalog.detached(t.id()));
          return ApiResponse.ok(one(id));
        });
      }
      case "failover/prepare": {
        expect(method, "POST");
        VmId id = resolve(vm);
        return manager.plannedFailover(id).thenApply(v -> ApiResponse.ok(one(id)));
      }
      case "failover": {
        expect(method, "POST");
        VmId id = resolve(vm);
        ObjectNode b = object(body);
        RecoveryPoint p = chosenPoint(id, b, Set.of("force"));
        boolean force = b.has("force") && bool(b, "force");
        return manager.failover(id, p, force).thenApply(m -> {
          catalog.attached(m);
          ObjectNode n = one(id);
          n.set("recoveryPoint", point(p));
          n.set("machine", machine(m));
          return ApiResponse.ok(n);
        });
      }
      case "failover/complete": {
        expect(method, "POST");
        VmId id = resolve(vm);
        return manager.commitFailover(id).thenApply(m -> {
          catalog.detached(id);
          catalog.attached(m);
          ObjectNode n = one(id);
          n.set("machine", machine(m));
          return ApiResponse.ok(n);
        });
      }
      case "failover/cancel": {
        expect(method, "POST");
        VmId id = resolve(vm);
        return manager.cancelFailover(id).thenApply(v -> {
          catalog.detached(id);
          return ApiResponse.ok(one(id));
        });
      }
      case "reverse": {
        expect(method, "POST");
        VmId id = resolve(vm);
        ReplicationSettings settings = settings(object(body), Set.of());
        return manager.reverseReplication(id, settings).thenApply(v -> {
          catalog.reversed(manager, id);
          return ApiResponse.ok(one(id));
        });
      }
      default:
        throw ApiException.notFound("no resource '" + resource + "' under /v1/vms/{vm};"
            + " see docs/admin-api.md for the list");
    }
  }

  /** A long operation answers 202 once started; its progress shows on GET /v1/vms/{vm}. */
  private CompletableFuture<ApiResponse> started(VmId id, CompletableFuture<Void> op,
      String what) {
    progress.remove(id);
    op.whenComplete((v, e) -> {
      if (e != null) {
        LOG.warn("{} of virtual machine {} failed: {}", what, id, unwrap(e).getMessage());
      }
    });
    if (op.isDone()) {
      // Refused at once (wrong state, not found): say so instead of 202.
      try {
        op.join();
      } catch (CompletionException e) {
        return CompletableFuture.failedFuture(unwrap(e));
      }
    }
    return done(new ApiResponse(202, one(id)));
  }

  // ---- resolving machines

  private String checkedName(String nameOrId) {
    if (nameOrId.isEmpty() || nameOrId.length() > NAME_CHARS_MAX
        || !nameOrId.chars().allMatch(c -> c >= 0x20 && c != 0x7f)) {
      throw ApiException.badRequest("virtual machine '" + printable(nameOrId) + "' is not a"
          + " valid name or id (1 to " + NAME_CHARS_MAX + " printable characters, or a UUID)");
    }
    if (UUID_LIKE.matcher(nameOrId).matches()) {
      try {
        VmId.parse(nameOrId);
      } catch (IllegalArgumentException e) {
        throw ApiException.badRequest("'" + printable(nameOrId) + "' is not a valid virtual"
            + " machine id: " + e.getMessage());
      }
    }
    return nameOrId;
  }

  private VmId resolve(String nameOrId) {
    String s = checkedName(nameOrId);
    if (UUID_LIKE.matcher(s).matches()) {
      return VmId.parse(s);
    }
    Optional<VirtualMachine> m = catalog.machine(s);
    if (m.isPresent()) {
      return m.get().id();
    }
    for (VmId id : manager.virtualMachines()) {
      Optional<VirtualMachine> test = testMachine(id);
      if (test.isPresent() && test.get().name().equals(s)) {
        return id;
      }
    }
    throw ApiException.notFound("no virtual machine named '" + s + "' on host '"
        + manager.hostName() + "' (GET /v1/vms lists them by id and name)");
  }

  private Optional<VirtualMachine> testMachine(VmId id) {
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

  private ObjectNode list() {
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

  private ObjectNode one(VmId id) {
    ObjectNode n = summary(id);
    ReplicationHealth h = manager.health(id);
    ArrayNode reasons = n.putArray("healthReasons");
    h.reasons().forEach(reasons::add);
    if (manager.mode(id) == ReplicationMode.PRIMARY) {
      try {
        n.set("settings", settingsView(manager.settings(id)));
      } catch (ReplicaException | IllegalStateException e) {
        // No settings to show in this state.
      }
    }
    testMachine(id).ifPresent(m -> n.set("testMachine", machine(m)));
    return n;
  }

  /**
   * Replication settings as JSON, in the fields the enable body takes: what {@link
   * #settingsFromJson} reads back to the same settings.
   */
  static ObjectNode settingsView(ReplicationSettings s) {
    ObjectNode n = JSON.objectNode();
    n.put("replicaServer", s.replicaServer());
    n.put("port", s.replicaServerPort());
    n.put("authenticationType", s.authenticationType().name().toLowerCase(Locale.ROOT));
    n.put("frequencySeconds", s.replicationFrequency().toSeconds());
    n.put("compression", s.compressionEnabled());
    RecoveryHistory h = s.recoveryHistory();
    n.put("additionalRecoveryPoints", h.additionalPoints());
    n.put("recoveryPointIntervalSeconds", h.pointInterval().toSeconds());
    n.put("applicationConsistentEvery", h.applicationConsistentEvery());
    n.put("initialReplicationMethod", method(s));
    s.initialReplicationExportLocation().ifPresent(v -> n.put("exportLocation", v));
    s.initialReplicationStartTime().ifPresent(v -> n.put("initialReplicationStartTime",
        v.toString()));
    ArrayNode disks = n.putArray("replicatedDisks");
    s.replicatedDisks().stream().map(DiskId::toString).sorted().forEach(disks::add);
    n.put("trackingBlockSizeBytes", s.trackingBlockSizeBytes());
    n.put("resynchronizationThreshold", s.resynchronizationThreshold());
    n.put("bandwidthBytesPerSecondMax", s.bandwidthBytesPerSecondMax());
    s.verifyInterval().ifPresent(v -> n.put("verifyIntervalSeconds", v.toSeconds()));
    return n;
  }

  private static String method(ReplicationSettings s) {
    switch (s.initialReplicationMethod()) {
      case EXPORT_TO_MEDIA:
        return "export";
      case EXISTING_COPY:
        return "existing-copy";
      default:
        return "network";
    }
  }

  private static ObjectNode statistics(ReplicationStatistics s) {
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

  private static ObjectNode point(RecoveryPoint p) {
    ObjectNode n = JSON.objectNode();
    n.put("cycle", p.cycle());
    n.put("time", p.time().toString());
    n.put("type", p.type().name());
    return n;
  }

  private static ObjectNode machine(VirtualMachine m) {
    ObjectNode n = JSON.objectNode();
    n.put("id", m.id().toString());
    n.put("name", m.name());
    ArrayNode disks = n.putArray("disks");
    m.disks().forEach(d -> disks.add(d.id().toString()));
    return n;
  }

  private static ObjectNode verification(VerificationResult r) {
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

  private ApiResponse ok(String outcome, VmId id) {
    ObjectNode n = JSON.objectNode();
    n.put("id", id.toString());
    n.put("result", outcome);
    return ApiResponse.ok(n);
  }

  // ---- bodies

  private ObjectNode object(byte[] body) {
    if (body.length == 0) {
      return JSON.objectNode();
    }
    JsonNode n;
    try {
      n = mapper.readTree(body);
    } catch (JsonProcessingException e) {
      throw ApiException.badRequest("the request body is not valid JSON ("
          + printable(e.getOriginalMessage()) + " at line " + e.getLocation().getLineNr()
          + ", column " + e.getLocation().getColumnNr() + "); send a JSON object");
    } catch (java.io.IOException e) {
      throw ApiException.badRequest("the request body cannot be read: " + e.getMessage());
    }
    if (n == null || n.isMissingNode() || n.isNull()) {
      return JSON.objectNode();
    }
    if (!n.isObject()) {
      throw ApiException.badRequest("the request body must be a JSON object, was "
          + n.getNodeType().name().toLowerCase(Locale.ROOT));
    }
    return (ObjectNode) n;
  }

  private static final Set<String> SETTINGS_FIELDS = Set.of("replicaServer", "port",
      "authenticationType", "frequencySeconds", "additionalRecoveryPoints",
      "recoveryPointIntervalSeconds", "applicationConsistentEvery", "compression",
      "initialReplicationMethod", "exportLocation", "initialReplicationStartTime",
      "replicatedDisks", "trackingBlockSizeBytes", "resynchronizationThreshold",
      "bandwidthBytesPerSecondMax", "verifyIntervalSeconds");

  private static void onlyFields(ObjectNode body, Set<String> allowed) {
    List<String> unknown = new ArrayList<>();
    for (Iterator<String> it = body.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      if (!allowed.contains(f)) {
        unknown.add("'" + printable(f) + "'");
      }
    }
    if (!unknown.isEmpty()) {
      throw ApiException.badRequest("unknown field" + (unknown.size() > 1 ? "s " : " ")
          + String.join(", ", unknown) + " in the request body; the known fields are "
          + new TreeSet<>(allowed));
    }
  }

  /**
   * Settings from the JSON of an enable body.
   *
   * @throws IllegalArgumentException naming the field that is wrong
   */
  static ReplicationSettings settingsFromJson(ObjectNode body) {
    try {
      return settings(body, Set.of());
    } catch (ApiException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
  }

  private static ReplicationSettings settings(ObjectNode b, Set<String> extra) {
    Set<String> allowed = new java.util.HashSet<>(SETTINGS_FIELDS);
    allowed.addAll(extra);
    onlyFields(b, allowed);
    if (!b.hasNonNull("replicaServer")) {
      throw ApiException.badRequest("field 'replicaServer' is required: the replica server's"
          + " host name");
    }
    try {
      ReplicationSettings.Builder s = ReplicationSettings.builder(text(b, "replicaServer"));
      if (b.has("authenticationType")) {
        String t = text(b, "authenticationType");
        try {
          s.authenticationType(AuthenticationType.valueOf(t.toUpperCase(Locale.ROOT)));
        } catch (IllegalArgumentException e) {
          throw ApiException.badRequest("field 'authenticationType' is '" + printable(t)
              + "'; use 'kerberos' or 'certificate'");
        }
      }
      if (b.has("port")) {
        s.replicaServerPort(integer(b, "port"));
      }
      if (b.has("frequencySeconds")) {
        s.replicationFrequency(Duration.ofSeconds(number(b, "frequencySeconds")));
      }
      if (b.has("compression")) {
        s.compressionEnabled(bool(b, "compression"));
      }
      if (b.has("additionalRecoveryPoints") || b.has("recoveryPointIntervalSeconds")
          || b.has("applicationConsistentEvery")) {
        int points = b.has("additionalRecoveryPoints") ? integer(b, "additionalRecoveryPoints") : 0;
        Duration interval = b.has("recoveryPointIntervalSeconds")
            ? Duration.ofSeconds(number(b, "recoveryPointIntervalSeconds"))
            : RecoveryHistory.DEFAULT_POINT_INTERVAL;
        int every = b.has("applicationConsistentEvery")
            ? integer(b, "applicationConsistentEvery") : 0;
        s.recoveryHistory(new RecoveryHistory(points, interval, every));
      }
      if (b.has("initialReplicationMethod")) {
        String m = text(b, "initialReplicationMethod");
        switch (m) {
          case "network":
            s.initialReplicationOverNetwork();
            break;
          case "export":
            if (!b.hasNonNull("exportLocation")) {
              throw ApiException.badRequest("initial replication method 'export' needs field"
                  + " 'exportLocation': the folder to export to");
            }
            s.initialReplicationByExport(text(b, "exportLocation"));
            break;
          case "existing-copy":
            s.initialReplicationFromExistingCopy();
            break;
          default:
            throw ApiException.badRequest("field 'initialReplicationMethod' is '" + printable(m)
                + "'; use 'network', 'export' or 'existing-copy'");
        }
      } else if (b.has("exportLocation")) {
        throw ApiException.badRequest("field 'exportLocation' needs"
            + " \"initialReplicationMethod\": \"export\"");
      }
      if (b.has("initialReplicationStartTime")) {
        s.initialReplicationStartTime(instant(b, "initialReplicationStartTime"));
      }
      if (b.has("replicatedDisks")) {
        JsonNode d = b.get("replicatedDisks");
        if (!d.isArray()) {
          throw ApiException.badRequest("field 'replicatedDisks' must be an array of disk ids");
        }
        Set<DiskId> disks = new java.util.HashSet<>();
        for (JsonNode e : d) {
          if (!e.isTextual()) {
            throw ApiException.badRequest("field 'replicatedDisks' must hold disk ids (strings)");
          }
          disks.add(DiskId.parse(e.asText()));
        }
        s.replicatedDisks(disks);
      }
      if (b.has("trackingBlockSizeBytes")) {
        s.trackingBlockSizeBytes(integer(b, "trackingBlockSizeBytes"));
      }
      if (b.has("resynchronizationThreshold")) {
        JsonNode v = b.get("resynchronizationThreshold");
        if (!v.isNumber()) {
          throw ApiException.badRequest("field 'resynchronizationThreshold' must be a number");
        }
        s.resynchronizationThreshold(v.asDouble());
      }
      if (b.has("bandwidthBytesPerSecondMax")) {
        s.bandwidthBytesPerSecondMax(number(b, "bandwidthBytesPerSecondMax"));
      }
      if (b.has("verifyIntervalSeconds")) {
        s.verifyInterval(b.get("verifyIntervalSeconds").isNull() ? null
            : Duration.ofSeconds(number(b, "verifyIntervalSeconds")));
      }
      return s.build();
    } catch (IllegalArgumentException e) {
      throw ApiException.badRequest(e.getMessage());
    }
  }

  private RecoveryPoint chosenPoint(VmId id, ObjectNode b, Set<String> extra) {
    Set<String> allowed = new java.util.HashSet<>(Set.of("recoveryPoint", "time"));
    allowed.addAll(extra);
    onlyFields(b, allowed);
    List<RecoveryPoint> points = manager.recoveryPoints(id);
    if (points.isEmpty()) {
      throw new ApiException(409, "wrong-state", "virtual machine " + id + " has no recovery"
          + " point on host '" + manager.hostName() + "'; wait for initial replication");
    }
    if (b.has("recoveryPoint")) {
      long cycle = number(b, "recoveryPoint");
      return points.stream().filter(p -> p.cycle() == cycle).findFirst().orElseThrow(() ->
          ApiException.notFound("virtual machine " + id + " has no recovery point of cycle "
              + cycle + " (GET /v1/vms/" + id + "/recovery-points lists them)"));
    }
    if (b.has("time")) {
      Instant t = instant(b, "time");
      RecoveryPoint best = null;
      for (RecoveryPoint p : points) {
        if (!p.time().isAfter(t) && (best == null || p.time().isAfter(best.time()))) {
          best = p;
        }
      }
      if (best == null) {
        throw ApiException.notFound("virtual machine " + id + " has no recovery point at or"
            + " before " + t + "; the oldest is from " + points.get(0).time());
      }
      return best;
    }
    return points.get(points.size() - 1);
  }

  private static String text(ObjectNode b, String field) {
    JsonNode v = b.get(field);
    if (v == null || !v.isTextual()) {
      throw ApiException.badRequest("field '" + field + "' must be a string");
    }
    return v.asText();
  }

  private static long number(ObjectNode b, String field) {
    JsonNode v = b.get(field);
    if (v == null || !v.isIntegralNumber() || !v.canConvertToLong()) {
      throw ApiException.badRequest("field '" + field + "' must be a whole number");
    }
    return v.asLong();
  }

  private static int integer(ObjectNode b, String field) {
    JsonNode v = b.get(field);
    if (v == null || !v.isIntegralNumber() || !v.canConvertToInt()) {
      throw ApiException.badRequest("field '" + field + "' must be a whole number within"
          + " the range of a 32-bit integer");
    }
    return v.asInt();
  }

  private static boolean bool(ObjectNode b, String field) {
    JsonNode v = b.get(field);
    if (v == null || !v.isBoolean()) {
      throw ApiException.badRequest("field '" + field + "' must be true or false");
    }
    return v.asBoolean();
  }

  private static Instant instant(ObjectNode b, String field) {
    String t = text(b, field);
    try {
      return Instant.parse(t);
    } catch (DateTimeParseException e) {
      throw ApiException.badRequest("field '" + field + "' is '" + printable(t) + "'; use an"
          + " ISO-8601 UTC time such as 2026-01-01T18:30:00Z");
    }
  }

  private static boolean flag(Map<String, List<String>> query, String name) {
    List<String> v = query.get(name);
    if (v == null || v.isEmpty()) {
      return false;
    }
    String last = v.get(v.size() - 1);
    if (last.equals("true") || last.isEmpty()) {
      return true;
    }
    if (last.equals("false")) {
      return false;
    }
    throw ApiException.badRequest("query parameter '" + name + "' is '" + printable(last)
        + "'; use true or false");
  }

  private static void expect(String method, String... allowed) {
    for (String a : allowed) {
      if (a.equals(method)) {
        return;
      }
    }
    throw new ApiException(405, "bad-request", "method " + printable(method) + " is not"
        + " allowed on this resource; use " + String.join(" or ", allowed));
  }

  private static CompletableFuture<ApiResponse> done(ObjectNode body) {
    return CompletableFuture.completedFuture(ApiResponse.ok(body));
  }

  private static CompletableFuture<ApiResponse> done(ApiResponse r) {
    return CompletableFuture.completedFuture(r);
  }

  // ---- errors

  static Throwable unwrap(Throwable t) {
    while ((t instanceof CompletionException || t instanceof ExecutionException)
        && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

  static ApiResponse failure(Throwable thrown) {
    Throwable t = unwrap(thrown);
    String message = t.getMessage() == null ? t.toString() : t.getMessage();
    if (t instanceof ApiException a) {
      return a.response();
    }
    if (t instanceof NotFoundException) {
      return ApiResponse.error(404, "not-found", message);
    }
    if (t instanceof WrongStateException || t instanceof IllegalStateException) {
      return ApiResponse.error(409, "wrong-state", message);
    }
    if (t instanceof NotAuthorizedException) {
      return ApiResponse.error(403, "not-authorized", message);
    }
    if (t instanceof IllegalArgumentException || t instanceof UnsupportedOperationException) {
      return ApiResponse.error(400, "bad-request", message);
    }
    if (t instanceof ReplicaException) {
      return ApiResponse.error(500, "failed", message);
    }
    LOG.error("management API request failed", t);
    return ApiResponse.error(500, "failed", "the request failed: " + message
        + " (the host's log has the details)");
  }

  /** Text from a client, made safe to echo and to log: controls escaped, length bounded. */
  static String printable(@Nullable String s) {
    if (s == null) {
      return "";
    }
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < s.length() && b.length() < 200; i++) {
      char c = s.charAt(i);
      if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || c == '\\') {
        b.append(String.format("\\u%04x", (int) c));
      } else {
        b.append(c);
      }
    }
    if (b.length() >= 200) {
      b.append("...");
    }
    return b.toString();
  }
}
