package io.replica.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replica.api.AuthenticationType;
import io.replica.api.DiskId;
import io.replica.api.ReplicaServerSettings;
import io.replica.api.ReplicationManager;
import io.replica.api.VirtualMachine;
import io.replica.api.VmDisk;
import io.replica.api.VmId;
import io.replica.core.ReplicaEngine;
import io.replica.host.admin.AdminServer;
import io.replica.host.admin.MachineCatalog;
import io.replica.spi.storage.DiskSpec;
import io.replica.spi.time.Scheduler;
import io.replica.testkit.memory.InMemoryNetwork;
import io.replica.testkit.memory.InMemoryStorageProvider;
import io.replica.testkit.memory.InMemoryVirtualDisk;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code replica vm} against a real management API over two in-memory engines. */
class VmCommandTest {
  @TempDir Path dir;
  private ScheduledExecutorService threads;
  private ReplicationManager primary;
  private ReplicationManager replica;
  private AdminServer admin;
  private String socket;

  @BeforeEach
  void start() throws Exception {
    threads = Executors.newSingleThreadScheduledExecutor();
    Scheduler scheduler = Scheduler.of(threads);
    InMemoryNetwork network = new InMemoryNetwork(scheduler);
    VirtualMachine web01 = new VirtualMachine(VmId.of(UUID.nameUUIDFromBytes("web01".getBytes())), "web01",
        List.of(new VmDisk(DiskId.of(UUID.nameUUIDFromBytes("web01-0".getBytes())),
            InMemoryVirtualDisk.create(DiskSpec.dynamic(1 << 20)), true)));
    primary = ReplicaEngine.builder().hostName("hv1.contoso.com").scheduler(scheduler)
        .transport(network.transport("hv1.contoso.com")).storage(new InMemoryStorageProvider()).build();
    replica = ReplicaEngine.builder().hostName("hv2.fabrikam.com").scheduler(scheduler)
        .transport(network.transport("hv2.fabrikam.com")).storage(new InMemoryStorageProvider()).build();
    replica.setReplicaServerSettings(ReplicaServerSettings.builder()
        .allowedAuthenticationTypes(Set.of(AuthenticationType.CERTIFICATE)).allowAnyAuthenticatedServer("replicas").build());
    admin = AdminServer.builder(primary, new MachineCatalog() {
      @Override
      public Optional<VirtualMachine> machine(String nameOrId) {
        return nameOrId.equals("web01") || nameOrId.equals(web01.id().toString()) ? Optional.of(web01) : Optional.empty();
      }

      @Override
      public List<VirtualMachine> machines() {
        return List.of(web01);
      }
    }).unixSocket(dir.resolve("admin.sock"), "root").start();
    socket = dir.resolve("admin.sock").toString();
  }

  @AfterEach
  void stop() {
    admin.close();
    primary.close();
    replica.close();
    threads.shutdownNow();
  }

  private CertCommandTest.Run vm(String... args) {
    String[] all = new String[args.length + 3];
    all[0] = "vm";
    all[1] = "--socket";
    all[2] = socket;
    System.arraycopy(args, 0, all, 3, args.length);
    return CertCommandTest.run(all);
  }

  @Test
  void enableStartListGetMeasureAndRemoveAsAnOperatorWould() {
    CertCommandTest.Run enable = vm("enable", "web01", "--replica-server", "hv2.fabrikam.com", "--frequency", "30s",
        "--no-compression"); // the in-memory network does not compress
    assertEquals(0, enable.code(), enable.out() + enable.err());
    CertCommandTest.Run initial = vm("start-initial", "web01");
    assertEquals(0, initial.code(), initial.out() + initial.err());
    assertTrue(initial.out().contains("done: web01 replicates"), initial.out());

    CertCommandTest.Run list = vm("list");
    assertEquals(0, list.code(), list.err());
    List<String> lines = list.out().strip().lines().toList();
    assertTrue(lines.get(0).startsWith("NAME") && lines.get(0).contains("STATE"), list.out());
    assertTrue(lines.get(1).startsWith("web01") && lines.get(1).contains("REPLICATING"), list.out());

    CertCommandTest.Run json = vm("get", "web01", "--json");
    assertEquals(0, json.code(), json.err());
    assertTrue(json.out().contains("\"state\" : \"REPLICATING\""), json.out());
    CertCommandTest.Run measure = vm("measure", "web01");
    assertEquals(0, measure.code(), measure.err());
    assertTrue(measure.out().lines().anyMatch(l -> l.contains(": ")), measure.out());

    assertEquals(0, vm("remove", "web01").code());
    assertTrue(!vm("list").out().contains("web01"), "removed");
  }

  @Test
  void exitStatusesTellScriptsWhatWentWrong() {
    CertCommandTest.Run missing = vm("get", "nosuch");
    assertEquals(3, missing.code(), missing.out() + missing.err());
    assertEquals(1, missing.err().strip().lines().count(), missing.err());
    assertTrue(missing.err().startsWith("replica vm get: "), missing.err());

    CertCommandTest.Run wrongState = vm("suspend", "web01"); // not replicating yet
    assertTrue(wrongState.code() == 1 || wrongState.code() == 3, wrongState.out() + wrongState.err());

    CertCommandTest.Run nobody = CertCommandTest.run("vm", "--socket", dir.resolve("none.sock").toString(), "list");
    assertEquals(5, nobody.code(), nobody.err());
    assertTrue(nobody.err().contains("management API") && nobody.err().contains("--socket"), nobody.err());

    assertEquals(2, vm("enable", "web01").code(), "--replica-server is required");
  }

  @Test
  void everyCommandHasARouteAndItsOwnHelp() {
    var commands = Main.commandLine().getSubcommands().get("vm").getSubcommands();
    assertEquals(VmCommand.ROUTES.keySet(), commands.keySet());
    for (String name : commands.keySet()) {
      CertCommandTest.Run help = CertCommandTest.run("vm", name, "--help");
      assertEquals(0, help.code(), name + ": " + help.out() + help.err());
      assertTrue(help.out().startsWith("Usage: replica vm " + name), help.out());
      String description = commands.get(name).getCommandSpec().usageMessage().description()[0];
      assertTrue(help.out().replaceAll("\\s+", " ").contains(description.substring(0, 20)), help.out());
    }
  }

  @Test
  void eachCommandAsksForItsResource() {
    List<Map.Entry<List<String>, String>> expected = List.of(
        Map.entry(List.of("list"), "GET /v1/vms"),
        Map.entry(List.of("get", "web01"), "GET /v1/vms/web01"),
        Map.entry(List.of("get", "web01 - Test"), "GET /v1/vms/web01%20-%20Test"),
        Map.entry(List.of("measure", "web01"), "GET /v1/vms/web01/statistics"),
        Map.entry(List.of("recovery-points", "web01"), "GET /v1/vms/web01/recovery-points"),
        Map.entry(List.of("remove", "web01"), "DELETE /v1/vms/web01"),
        Map.entry(List.of("enable", "web01", "--replica-server", "hv2"), "POST /v1/vms/web01/enable"),
        Map.entry(List.of("start-initial", "web01"), "POST /v1/vms/web01/initial-replication"),
        Map.entry(List.of("suspend", "web01"), "POST /v1/vms/web01/suspend"),
        Map.entry(List.of("resume", "web01"), "POST /v1/vms/web01/resume"),
        Map.entry(List.of("resume", "web01", "--resync"), "POST /v1/vms/web01/resume?resync=true"),
        Map.entry(List.of("test-failover", "web01"), "POST /v1/vms/web01/test-failover"),
        Map.entry(List.of("stop-test-failover", "web01"), "POST /v1/vms/web01/test-failover/stop"),
        Map.entry(List.of("failover", "web01"), "POST /v1/vms/web01/failover"),
        Map.entry(List.of("failover", "web01", "--prepare"), "POST /v1/vms/web01/failover/prepare"),
        Map.entry(List.of("complete", "web01"), "POST /v1/vms/web01/failover/complete"),
        Map.entry(List.of("cancel", "web01"), "POST /v1/vms/web01/failover/cancel"),
        Map.entry(List.of("reverse", "web01", "--replica-server", "hv1"), "POST /v1/vms/web01/reverse"),
        Map.entry(List.of("verify", "web01"), "POST /v1/vms/web01/verify"));
    for (Map.Entry<List<String>, String> e : expected) {
      List<String> args = new ArrayList<>(List.of("vm"));
      args.addAll(e.getKey());
      var parsed = Main.commandLine().parseArgs(args.toArray(new String[0]));
      VmCommand.Call call = (VmCommand.Call) parsed.subcommand().subcommand().commandSpec().userObject();
      assertEquals(e.getValue(), call.route().method() + " " + call.path(), e.getKey().toString());
    }
  }
}
