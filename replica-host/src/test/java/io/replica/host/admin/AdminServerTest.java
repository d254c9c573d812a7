package io.replica.host.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.replica.api.AuthenticationType;
import io.replica.api.DiskId;
import io.replica.api.ReplicaServerSettings;
import io.replica.api.ReplicationManager;
import io.replica.api.ReplicationState;
import io.replica.api.VirtualMachine;
import io.replica.api.VmDisk;
import io.replica.api.VmId;
import io.replica.api.event.ReplicationEvent;
import io.replica.core.ReplicaEngine;
import io.replica.spi.host.PowerState;
import io.replica.spi.host.VirtualMachineHost;
import io.replica.spi.storage.DiskSpec;
import io.replica.spi.time.Scheduler;
import io.replica.testkit.memory.InMemoryNetwork;
import io.replica.testkit.memory.InMemoryStorageProvider;
import io.replica.testkit.memory.InMemoryVirtualDisk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every resource of the management API against two real engines (in-memory network and disks),
 * through {@link AdminClient} over real Unix sockets; access by peer credentials.
 */
class AdminServerTest {
  private static final String PRIMARY = "hv1.contoso.com";
  private static final String REPLICA = "hv2.fabrikam.com";
  private static final String ADMIN_GROUP = "root";

  @TempDir Path dir;
  private ScheduledExecutorService threads;
  private ReplicationManager primary;
  private ReplicationManager replica;
  private final Map<VmId, PowerState> power = new ConcurrentHashMap<>();
  private VirtualMachine web01;
  private AdminServer primaryAdmin;
  private AdminServer replicaAdmin;
  private AdminClient primaryClient;
  private AdminClient replicaClient;

  @BeforeEach
  void start() throws IOException {
    threads = Executors.newSingleThreadScheduledExecutor();
    Scheduler scheduler = Scheduler.of(threads);
    InMemoryNetwork network = new InMemoryNetwork(scheduler);
    InMemoryVirtualDisk disk = InMemoryVirtualDisk.create(DiskSpec.dynamic(1 << 20));
    byte[] block = new byte[4096];
    java.util.Arrays.fill(block, (byte) 0x5a);
    disk.write(0, ByteBuffer.wrap(block));
    web01 = new VirtualMachine(VmId.of(UUID.nameUUIDFromBytes("web01".getBytes())), "web01",
        List.of(new VmDisk(DiskId.of(UUID.nameUUIDFromBytes("web01-0".getBytes())), disk, true)));
    VirtualMachineHost host = new VirtualMachineHost() {
      @Override
      public PowerState powerState(VmId vm) {
        return power.getOrDefault(vm, PowerState.RUNNING);
      }

      @Override
      public Optional<VirtualMachine> machine(VmId vm) {
        return vm.equals(web01.id()) ? Optional.of(web01) : Optional.empty();
      }

      @Override
      public CompletableFuture<Void> start(VmId vm) {
        power.put(vm, PowerState.RUNNING);
        return CompletableFuture.completedFuture(null);
      }

      @Override
      public CompletableFuture<Void> stop(VmId vm) {
        power.put(vm, PowerState.OFF);
        return CompletableFuture.completedFuture(null);
      }
    };
    primary = ReplicaEngine.builder().hostName(PRIMARY).scheduler(scheduler)
        .transport(network.transport(PRIMARY)).storage(new InMemoryStorageProvider())
        .virtualMachineHost(host).build();
    replica = ReplicaEngine.builder().hostName(REPLICA).scheduler(scheduler)
        .transport(network.transport(REPLICA)).storage(new InMemoryStorageProvider()).build();
    replica.setReplicaServerSettings(ReplicaServerSettings.builder()
        .allowedAuthenticationTypes(Set.of(AuthenticationType.KERBEROS))
        .allowAnyAuthenticatedServer("replicas").build());
    primaryAdmin = AdminServer.builder(primary, catalog(web01))
        .unixSocket(dir.resolve("primary.sock"), ADMIN_GROUP).start();
    replicaAdmin = AdminServer.builder(replica, catalog())
        .unixSocket(dir.resolve("replica.sock"), ADMIN_GROUP).start();
    primaryClient = new AdminClient(dir.resolve("primary.sock"));
    replicaClient = new AdminClient(dir.resolve("replica.sock"));
  }

  @AfterEach
  void stop() throws InterruptedException {
    primaryAdmin.close();
    replicaAdmin.close();
    primary.close();
    replica.close();
    threads.shutdownNow();
    assertTrue(threads.awaitTermination(30, TimeUnit.SECONDS));
  }

  static MachineCatalog catalog(VirtualMachine... machines) {
    return new MachineCatalog() {
      @Override
      public Optional<VirtualMachine> machine(String nameOrId) {
        for (VirtualMachine m : machines) {
          if (m.name().equals(nameOrId) || m.id().toString().equals(nameOrId)) {
            return Optional.of(m);
          }
        }
        return Optional.empty();
      }

      @Override
      public List<VirtualMachine> machines() {
        return List.of(machines);
      }
    };
  }

  /** Completes when the primary reports {@code state} for web01. */
  private CompletableFuture<Void> primaryReaches(ReplicationState state) {
    CompletableFuture<Void> f = new CompletableFuture<>();
    primary.addListener(e -> {
      if (e instanceof ReplicationEvent.StateChanged s && s.vm().equals(web01.id())
          && s.to() == state) {
        f.complete(null);
      }
    });
    return f;
  }

  private static JsonNode ok(AdminClient.Response r) {
    assertTrue(r.ok(), "expected success, got " + r.status() + " " + r.body());
    return r.body();
  }

  private static void error(AdminClient.Response r, int status, String kind, String inMessage) {
    assertEquals(status, r.status(), r.body().toString());
    assertEquals(kind, r.body().path("kind").asText(), r.body().toString());
    assertTrue(r.body().path("error").asText().contains(inMessage),
        "error should mention '" + inMessage + "': " + r.body());
  }

  @Test
  void everyResourceAgainstRealEngines() throws Exception {
    String id = web01.id().toString();
    JsonNode enabled = ok(primaryClient.post("/v1/vms/web01/enable",
        "{\"replicaServer\": \"" + REPLICA + "\", \"frequencySeconds\": 30,"
            + " \"authenticationType\": \"kerberos\", \"compression\": false}"));
    assertEquals(id, enabled.path("id").asText());
    assertEquals("web01", enabled.path("name").asText());
    assertEquals("PRIMARY", enabled.path("mode").asText());
    assertEquals(30, enabled.path("settings").path("frequencySeconds").asInt());

    JsonNode list = ok(primaryClient.get("/v1/vms"));
    assertEquals(PRIMARY, list.path("host").asText());
    assertEquals(1, list.path("vms").size());
    assertEquals(REPLICA, list.path("vms").get(0).path("replicaServer").asText());

    CompletableFuture<Void> replicating = primaryReaches(ReplicationState.REPLICATING);
    AdminClient.Response started = primaryClient.post("/v1/vms/web01/initial-replication", "{}");
    assertEquals(202, started.status(), started.body().toString());
    replicating.get(60, TimeUnit.SECONDS);

    JsonNode one = ok(primaryClient.get("/v1/vms/" + id));
    assertEquals("REPLICATING", one.path("state").asText());
    assertTrue(one.path("healthReasons").isArray());
    JsonNode stats = ok(primaryClient.get("/v1/vms/web01/statistics"));
    assertTrue(stats.path("initialReplicationSizeBytes").asLong() > 0, stats.toString());
    assertTrue(stats.has("averageLatencyMillis") && stats.has("pendingReplicationSizeBytes"));
    ok(primaryClient.post("/v1/vms/web01/statistics/reset", "{}"));

    JsonNode verified = ok(primaryClient.post("/v1/vms/web01/verify", "{}"));
    assertTrue(verified.path("matches").asBoolean(), verified.toString());

    assertEquals("SUSPENDED",
        ok(primaryClient.post("/v1/vms/web01/suspend", "{}")).path("state").asText());
    assertEquals("REPLICATING",
        ok(primaryClient.post("/v1/vms/web01/resume", "{}")).path("state").asText());

    CompletableFuture<Void> resynchronized = primaryReaches(ReplicationState.REPLICATING);
    AdminClient.Response resync = primaryClient.post("/v1/vms/web01/resume?resync=true", "{}");
    assertEquals(202, resync.status(), resync.body().toString());
    resynchronized.get(60, TimeUnit.SECONDS);
    error(primaryClient.exchange("PUT", "/v1/vms/web01/settings", "{}"), 405, "bad-request",
        "remove replication and enable it again");

    // The replica host: recovery points and test failover, by id (it has no catalog entry).
    JsonNode points = ok(replicaClient.get("/v1/vms/" + id + "/recovery-points"));
    assertFalse(points.path("recoveryPoints").isEmpty(), points.toString());
    long cycle = points.path("recoveryPoints").get(0).path("cycle").asLong();
    JsonNode test = ok(replicaClient.post("/v1/vms/" + id + "/test-failover",
        "{\"recoveryPoint\": " + cycle + "}"));
    assertEquals("web01 - Test", test.path("testMachine").path("name").asText());
    error(replicaClient.post("/v1/vms/" + id + "/test-failover", "{}"), 409, "wrong-state", "");
    ok(replicaClient.post("/v1/vms/" + id + "/test-failover/stop", "{}"));
    error(replicaClient.post("/v1/vms/" + id + "/failover", "{\"recoveryPoint\": 999999}"), 404,
        "not-found", "999999");

    // Unplanned failover on the replica: refused while the primary runs the machine, forced,
    // then cancelled.
    error(replicaClient.post("/v1/vms/" + id + "/failover", "{}"), 409, "wrong-state",
        "force the failover");
    JsonNode failedOver = ok(replicaClient.post("/v1/vms/" + id + "/failover",
        "{\"force\": true}"));
    assertEquals("FAILOVER_WAITING_COMPLETION", failedOver.path("state").asText());
    assertEquals(id, failedOver.path("machine").path("id").asText());
    JsonNode cancelled = ok(replicaClient.post("/v1/vms/" + id + "/failover/cancel", "{}"));
    assertEquals("REPLICATING", cancelled.path("state").asText());

    // Planned failover: the primary refuses while the machine runs, then fails over to the
    // replica, which replicates back.
    AdminClient.Response running = primaryClient.post("/v1/vms/web01/failover/prepare", "{}");
    assertEquals(409, running.status(), running.body().toString());
    power.put(web01.id(), PowerState.OFF);
    acceptReverse();
    JsonNode prepared = ok(primaryClient.post("/v1/vms/web01/failover/prepare", "{}"));
    assertEquals("REPLICA", prepared.path("mode").asText());
    JsonNode newPrimary = ok(replicaClient.get("/v1/vms/" + id));
    assertEquals("PRIMARY", newPrimary.path("mode").asText());
    assertEquals(PRIMARY, newPrimary.path("settings").path("replicaServer").asText());

    ok(replicaClient.delete("/v1/vms/" + id));
    error(replicaClient.get("/v1/vms/" + id), 404, "not-found", id);
  }

  private void acceptReverse() {
    primary.setReplicaServerSettings(ReplicaServerSettings.builder()
        .allowedAuthenticationTypes(Set.of(AuthenticationType.KERBEROS))
        .allowAnyAuthenticatedServer("returned").build());
  }

  @Test
  void unplannedFailoverCompletesAndReverses() throws Exception {
    String id = web01.id().toString();
    ok(primaryClient.post("/v1/vms/" + id + "/enable", "{\"replicaServer\": \"" + REPLICA
        + "\"}"));
    CompletableFuture<Void> replicating = primaryReaches(ReplicationState.REPLICATING);
    assertEquals(202, primaryClient.post("/v1/vms/web01/initial-replication", "").status());
    replicating.get(60, TimeUnit.SECONDS);
    String at = ok(replicaClient.get("/v1/vms/" + id + "/recovery-points"))
        .path("recoveryPoints").get(0).path("time").asText();
    ok(replicaClient.post("/v1/vms/" + id + "/failover",
        "{\"time\": \"" + at + "\", \"force\": true}"));
    JsonNode completed = ok(replicaClient.post("/v1/vms/" + id + "/failover/complete", "{}"));
    assertEquals("FAILED_OVER", completed.path("state").asText());
    acceptReverse();
    power.put(web01.id(), PowerState.OFF);
    error(replicaClient.post("/v1/vms/" + id + "/reverse", "{\"replicaServer\": \"" + PRIMARY
        + "\", \"frequencySeconds\": 5, \"size\": 1}"), 400, "bad-request", "'size'");
    JsonNode reversed = ok(replicaClient.post("/v1/vms/" + id + "/reverse",
        "{\"replicaServer\": \"" + PRIMARY + "\", \"frequencySeconds\": 30}"));
    assertEquals("PRIMARY", reversed.path("mode").asText());
    assertEquals(PRIMARY, reversed.path("replicaServer").asText());
    assertEquals("REPLICA", ok(primaryClient.get("/v1/vms/web01")).path("mode").asText());
  }

  @Test
  void initialReplicationProgressShowsBytesAndRate() throws Exception {
    ok(primaryClient.post("/v1/vms/web01/enable", "{\"replicaServer\": \"" + REPLICA + "\"}"));
    AdminApi api = new AdminApi(primary, catalog(web01),
        new com.fasterxml.jackson.databind.ObjectMapper());
    java.time.Instant t = java.time.Instant.parse("2026-01-01T00:00:00Z");
    api.onEvent(new ReplicationEvent.InitialReplicationProgress(web01.id(), t, 1000, 10_000));
    api.onEvent(new ReplicationEvent.InitialReplicationProgress(web01.id(),
        t.plusSeconds(2), 5000, 10_000));
    ApiResponse r = api.handle("GET", List.of("v1", "vms", "web01"), Map.of(), new byte[0])
        .get(30, TimeUnit.SECONDS);
    assertEquals(200, r.status(), r.body().toString());
    JsonNode p = r.body().path("progress");
    assertEquals(5000, p.path("bytesDone").asLong(), r.body().toString());
    assertEquals(10_000, p.path("bytesTotal").asLong());
    assertEquals(2000, p.path("bytesPerSecond").asLong());
  }

  @Test
  void hostileInputGetsClearErrorsAndTheServerGoesOn() throws Exception {
    error(primaryClient.post("/v1/vms/web01/enable", "{\"replicaServer\": "), 400,
        "bad-request", "not valid JSON");
    error(primaryClient.post("/v1/vms/web01/enable", "[1, 2]"), 400, "bad-request",
        "must be a JSON object");
    error(primaryClient.post("/v1/vms/web01/enable", "{\"replicaServer\": \"" + REPLICA
        + "\", \"colour\": \"blue\"}"), 400, "bad-request", "'colour'");
    error(primaryClient.post("/v1/vms/web01/enable", "{\"replicaServer\": \"" + REPLICA
        + "\", \"frequencySeconds\": \"often\"}"), 400, "bad-request", "frequencySeconds");
    error(primaryClient.post("/v1/vms/web01/enable", "{\"frequencySeconds\": 30}"), 400,
        "bad-request", "replicaServer");
    String huge = "{\"replicaServer\": \"" + "x".repeat(16 * AdminServer.BODY_BYTES_MAX) + "\"}";
    error(primaryClient.post("/v1/vms/web01/enable", huge), 413, "bad-request", "larger");
    error(primaryClient.get("/v1/vms/0123abcd-zzzz-4000-8000-000000000000"), 400, "bad-request",
        "not a valid virtual machine id");
    error(primaryClient.get("/v1/vms/..%2F..%2Fetc%2Fpasswd"), 404, "not-found",
        "../../etc/passwd");
    error(primaryClient.get("/v1/../../etc/passwd"), 404, "not-found", "/v1/vms");
    error(primaryClient.get("/v1/vms/a%0Ab/statistics"), 400, "bad-request", "a\\u000ab");
    error(primaryClient.get("/v1/vms/web01/statistics"), 404, "not-found", "");
    error(primaryClient.get("/v1/vms/web01/nonsense"), 404, "not-found", "nonsense");
    error(primaryClient.delete("/v1/vms/web01/statistics"), 405, "bad-request", "GET");
    error(primaryClient.get("/v1/vms/web01/enable"), 405, "bad-request", "POST");
    error(primaryClient.post("/v1/vms/web01/resume?resync=maybe", "{}"), 400, "bad-request",
        "resync");
    assertEquals(PRIMARY, ok(primaryClient.get("/v1/vms")).path("host").asText());
  }

  @Test
  void anOversizedBodyIsAnsweredAfterTheClientHasSentIt() throws IOException {
    // A plain client (curl, a script) writes its whole request before it reads: the server
    // must not close while the body still arrives, or the client sees a reset, not the answer.
    byte[] body = new byte[16 * AdminServer.BODY_BYTES_MAX];
    java.util.Arrays.fill(body, (byte) ' ');
    String head = "POST /v1/vms/web01/enable HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        + "Content-Length: " + body.length + "\r\n\r\n";
    try (java.nio.channels.SocketChannel ch = java.nio.channels.SocketChannel.open(
        java.net.StandardProtocolFamily.UNIX)) {
      ch.connect(java.net.UnixDomainSocketAddress.of(primaryAdmin.unixSocket().orElseThrow()));
      ByteBuffer out = ByteBuffer.allocate(head.length() + body.length);
      out.put(head.getBytes(StandardCharsets.US_ASCII)).put(body).flip();
      while (out.hasRemaining()) {
        ch.write(out);
      }
      String answer = new String(readAll(ch), StandardCharsets.UTF_8);
      assertTrue(answer.startsWith("HTTP/1.1 413"), answer);
      assertTrue(answer.contains("larger than 65536 bytes"), answer);
    }
  }

  @Test
  void somethingThatIsNotHttpGetsA400() throws IOException {
    try (java.nio.channels.SocketChannel ch = java.nio.channels.SocketChannel.open(
        java.net.StandardProtocolFamily.UNIX)) {
      ch.connect(java.net.UnixDomainSocketAddress.of(primaryAdmin.unixSocket().orElseThrow()));
      ch.write(ByteBuffer.wrap("GET /v1/vms HTTP/1.1\r\nHost: x\r\nX: "
          .concat("y".repeat(20_000)).concat("\r\n\r\n").getBytes(StandardCharsets.US_ASCII)));
      String answer = new String(readAll(ch), StandardCharsets.UTF_8);
      assertTrue(answer.startsWith("HTTP/1.1 400"), answer);
      assertTrue(answer.contains("not valid HTTP/1.1"), answer);
    }
    assertTrue(primaryClient.get("/v1/vms").ok(), "the server answers the next client");
  }

  private static byte[] readAll(java.nio.channels.SocketChannel ch) throws IOException {
    java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream();
    ByteBuffer buf = ByteBuffer.allocate(8192);
    while (ch.read(buf) >= 0) {
      all.write(buf.array(), 0, buf.position());
      buf.clear();
    }
    return all.toByteArray();
  }

  @Test
  void socketFileBelongsToTheAdminGroupWithMode0660() throws IOException {
    Path socket = primaryAdmin.unixSocket().orElseThrow();
    int mode = (Integer) Files.getAttribute(socket, "unix:mode", LinkOption.NOFOLLOW_LINKS);
    assertEquals(0140660, mode, Integer.toOctalString(mode));
    GroupPrincipal group = (GroupPrincipal) Files.getAttribute(socket, "posix:group",
        LinkOption.NOFOLLOW_LINKS);
    assertEquals(ADMIN_GROUP, group.getName());
    primaryAdmin.close();
    assertFalse(Files.exists(socket, LinkOption.NOFOLLOW_LINKS), "socket file removed on close");
  }

  @Test
  void aUserOutsideTheAdminGroupIsRefusedByItsCredentials() throws Exception {
    assumeTrue("root".equals(System.getProperty("user.name")),
        "skipped: needs root to run a client as user 'nobody' (runuser)");
    Path runuser = Path.of("/usr/sbin/runuser");
    assumeTrue(Files.isExecutable(runuser) || Files.isExecutable(Path.of("/sbin/runuser")),
        "skipped: runuser is missing, so no client can run as another user");
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    Path open = dir.resolve("open.sock");
    try (AdminServer wide = AdminServer.builder(primary, catalog(web01))
        .unixSocket(open, ADMIN_GROUP)
        .socketPermissions(PosixFilePermissions.fromString("rw-rw-rw-")).start()) {
      String script = "import socket,sys\n"
          + "s=socket.socket(socket.AF_UNIX)\n"
          + "s.connect(sys.argv[1])\n"
          + "s.sendall(b'GET /v1/vms HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n')\n"
          + "d=b''\n"
          + "while True:\n"
          + "  b=s.recv(65536)\n"
          + "  if not b: break\n"
          + "  d+=b\n"
          + "sys.stdout.write(d.decode())\n";
      Process p = new ProcessBuilder("runuser", "-u", "nobody", "--", "python3", "-c", script,
          open.toString()).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(p.waitFor(60, TimeUnit.SECONDS));
      assertTrue(out.startsWith("HTTP/1.1 403"), out);
      assertTrue(out.contains("user 'nobody' may not manage replication"), out);
      assertTrue(out.contains("group 'root'"), out);
      assertTrue(out.contains("not-authorized"), out);
      // Root, through the same wide socket, is admitted.
      assertTrue(new AdminClient(open).get("/v1/vms").ok());
    }
  }
}
