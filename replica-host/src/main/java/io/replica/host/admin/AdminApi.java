package io.replica.host.admin;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.replica.api.NotAuthorizedException;
import io.replica.api.NotFoundException;
import io.replica.api.RecoveryPoint;
import io.replica.api.ReplicaException;
import io.replica.api.ReplicationManager;
import io.replica.api.ReplicationSettings;
import io.replica.api.VirtualMachine;
import io.replica.api.VmId;
import io.replica.api.WrongStateException;
import io.replica.api.event.ReplicationEvent;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The resources of the management API over a {@link ReplicationManager} and a
 * {@link MachineCatalog}, free of HTTP plumbing: a method, the decoded path segments, the query
 * and the body in; a status and a JSON body out. docs/admin-api.md describes every resource.
 * This class routes and maps failures to statuses; {@link AdminViews} writes the answers,
 * {@link BodyFields} and {@link SettingsJson} read the bodies.
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
  private final AdminViews views;

  AdminApi(ReplicationManager manager, MachineCatalog catalog, ObjectMapper mapper) {
    this.manager = manager;
    this.catalog = catalog;
    this.mapper = mapper;
    this.views = new AdminViews(manager, catalog);
  }

  /** Keeps the progress of initial replications, which statistics do not carry. */
  void onEvent(ReplicationEvent event) {
    views.onEvent(event);
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
      return done(views.list());
    }
    String vm = s.get(2);
    String resource = String.join("/", s.subList(3, s.size()));
    switch (resource) {
      case "":
        if (method.equals("DELETE")) {
          VmId id = resolve(vm);
          return catalog.remove(manager, id).thenApply(v -> AdminViews.ok("removed", id));
        }
        expect(method, "GET", "DELETE");
        return done(views.one(resolve(vm)));
      case "statistics":
        expect(method, "GET");
        return done(AdminViews.statistics(manager.statistics(resolve(vm))));
      case "statistics/reset": {
        expect(method, "POST");
        VmId id = resolve(vm);
        manager.resetStatistics(id);
        return done(AdminViews.statistics(manager.statistics(id)));
      }
      case "recovery-points": {
        expect(method, "GET");
        VmId id = resolve(vm);
        ArrayNode a = JSON.arrayNode();
        for (RecoveryPoint p : manager.recoveryPoints(id)) {
          a.add(AdminViews.point(p));
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
        ReplicationSettings settings = SettingsJson.read(BodyFields.object(mapper, body));
        return catalog.enable(manager, machine, settings)
            .thenApply(v -> ApiResponse.ok(views.one(machine.id())));
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
        return manager.suspendReplication(id).thenApply(v -> ApiResponse.ok(views.one(id)));
      }
      case "resume": {
        expect(method, "POST");
        VmId id = resolve(vm);
        if (flag(query, "resync")) {
          return started(id, manager.resynchronize(id), "resynchronization");
        }
        return manager.resumeReplication(id).thenApply(v -> ApiResponse.ok(views.one(id)));
      }
      case "verify": {
        expect(method, "POST");
        VmId id = resolve(vm);
        return manager.verify(id).thenApply(r -> ApiResponse.ok(AdminViews.verification(r)));
      }
      case "test-failover": {
        expect(method, "POST");
        VmId id = resolve(vm);
        RecoveryPoint p = chosenPoint(id, BodyFields.object(mapper, body), Set.of());
        return manager.startTestFailover(id, p).thenApply(m -> {
          catalog.attached(m);
          ObjectNode n = JSON.objectNode();
          n.put("id", id.toString());
          n.set("recoveryPoint", AdminViews.point(p));
          n.set("testMachine", AdminViews.machine(m));
          return ApiResponse.ok(n);
        });
      }
      case "test-failover/stop": {
        expect(method, "POST");
        VmId id = resolve(vm);
        Optional<VirtualMachine> test = manager.testFailover(id);
        return manager.stopTestFailover(id).thenApply(v -> {
          test.ifPresent(t -> catalog.detached(t.id()));
          return ApiResponse.ok(views.one(id));
        });
      }
      case "failover/prepare": {
        expect(method, "POST");
        VmId id = resolve(vm);
        return manager.plannedFailover(id).thenApply(v -> ApiResponse.ok(views.one(id)));
      }
      case "failover": {
        expect(method, "POST");
        VmId id = resolve(vm);
        ObjectNode b = BodyFields.object(mapper, body);
        RecoveryPoint p = chosenPoint(id, b, Set.of("force"));
        boolean force = b.has("force") && BodyFields.bool(b, "force");
        return manager.failover(id, p, force).thenApply(m -> {
          catalog.attached(m);
          ObjectNode n = views.one(id);
          n.set("recoveryPoint", AdminViews.point(p));
          n.set("machine", AdminViews.machine(m));
          return ApiResponse.ok(n);
        });
      }
      case "failover/complete": {
        expect(method, "POST");
        VmId id = resolve(vm);
        return manager.commitFailover(id).thenApply(m -> {
          catalog.detached(id);
          catalog.attached(m);
          ObjectNode n = views.one(id);
          n.set("machine", AdminViews.machine(m));
          return ApiResponse.ok(n);
        });
      }
      case "failover/cancel": {
        expect(method, "POST");
        VmId id = resolve(vm);
        return manager.cancelFailover(id).thenApply(v -> {
          catalog.detached(id);
          return ApiResponse.ok(views.one(id));
        });
      }
      case "reverse": {
        expect(method, "POST");
        VmId id = resolve(vm);
        ReplicationSettings settings = SettingsJson.read(BodyFields.object(mapper, body));
        return manager.reverseReplication(id, settings).thenApply(v -> {
          catalog.reversed(manager, id);
          return ApiResponse.ok(views.one(id));
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
    views.forgetProgress(id);
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
    return done(new ApiResponse(202, views.one(id)));
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
      Optional<VirtualMachine> test = views.testMachine(id);
      if (test.isPresent() && test.get().name().equals(s)) {
        return id;
      }
    }
    throw ApiException.notFound("no virtual machine named '" + s + "' on host '"
        + manager.hostName() + "' (GET /v1/vms lists them by id and name)");
  }

  private RecoveryPoint chosenPoint(VmId id, ObjectNode b, Set<String> extra) {
    Set<String> allowed = new java.util.HashSet<>(Set.of("recoveryPoint", "time"));
    allowed.addAll(extra);
    BodyFields.onlyFields(b, allowed);
    List<RecoveryPoint> points = manager.recoveryPoints(id);
    if (points.isEmpty()) {
      throw new ApiException(409, "wrong-state", "virtual machine " + id + " has no recovery"
          + " point on host '" + manager.hostName() + "'; wait for initial replication");
    }
    if (b.has("recoveryPoint")) {
      long cycle = BodyFields.number(b, "recoveryPoint");
      return points.stream().filter(p -> p.cycle() == cycle).findFirst().orElseThrow(() ->
          ApiException.notFound("virtual machine " + id + " has no recovery point of cycle "
              + cycle + " (GET /v1/vms/" + id + "/recovery-points lists them)"));
    }
    if (b.has("time")) {
      Instant t = BodyFields.instant(b, "time");
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
