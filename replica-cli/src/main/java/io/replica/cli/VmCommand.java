package io.replica.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.replica.host.admin.AdminClient;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code replica vm ...}: manages the machines of a running {@code replica host} through its
 * management API, one command per Hyper-V Replica cmdlet. Tables for people, {@code --json} for
 * scripts. Exit status: 0 done, 1 the operation failed or the machine is in the wrong state, 2
 * a usage error or a request the host refused as malformed, 3 no such machine or recovery point,
 * 4 not an administrator of the host, 5 the host cannot be reached.
 */
@Command(name = "vm", mixinStandardHelpOptions = true,
    description = "Manage replication of the machines of a running 'replica host'.",
    subcommands = {VmCommand.ListVms.class, VmCommand.Get.class, VmCommand.Measure.class, VmCommand.Enable.class,
        VmCommand.StartInitial.class, VmCommand.Suspend.class, VmCommand.Resume.class, VmCommand.Remove.class,
        VmCommand.TestFailover.class, VmCommand.StopTestFailover.class, VmCommand.Failover.class,
        VmCommand.Complete.class, VmCommand.Cancel.class, VmCommand.Reverse.class, VmCommand.RecoveryPoints.class,
        VmCommand.Verify.class})
final class VmCommand implements Runnable {
  static final ObjectMapper JSON = new ObjectMapper();

  @Spec
  CommandSpec spec;

  @Option(names = "--socket", paramLabel = "PATH", scope = picocli.CommandLine.ScopeType.INHERIT,
      description = "The host's management socket (default: $REPLICA_ADMIN_SOCKET or /run/replica/admin.sock).")
  @Nullable Path socket;

  @Option(names = "--json", scope = picocli.CommandLine.ScopeType.INHERIT,
      description = "Print the answer as JSON, for scripts.")
  boolean json;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  Path socket() {
    if (socket != null) {
      return socket;
    }
    String env = System.getenv("REPLICA_ADMIN_SOCKET");
    return Path.of(env != null && !env.isBlank() ? env : "/run/replica/admin.sock");
  }

  /**
   * What each command asks of the management API: the method, and the path under
   * {@code /v1/vms/{vm}} (under {@code /v1/vms} for {@code list}). A POST sends {@code {}} unless
   * the command has a body of its own.
   */
  static final Map<String, Route> ROUTES = Map.ofEntries(
      Map.entry("list", new Route("GET", "")),
      Map.entry("get", new Route("GET", "")),
      Map.entry("measure", new Route("GET", "/statistics")),
      Map.entry("recovery-points", new Route("GET", "/recovery-points")),
      Map.entry("remove", new Route("DELETE", "")),
      Map.entry("enable", new Route("POST", "/enable")),
      Map.entry("start-initial", new Route("POST", "/initial-replication")),
      Map.entry("suspend", new Route("POST", "/suspend")),
      Map.entry("resume", new Route("POST", "/resume")),
      Map.entry("test-failover", new Route("POST", "/test-failover")),
      Map.entry("stop-test-failover", new Route("POST", "/test-failover/stop")),
      Map.entry("failover", new Route("POST", "/failover")),
      Map.entry("complete", new Route("POST", "/failover/complete")),
      Map.entry("cancel", new Route("POST", "/failover/cancel")),
      Map.entry("reverse", new Route("POST", "/reverse")),
      Map.entry("verify", new Route("POST", "/verify")));

  /** A request's method and path suffix. */
  record Route(String method, String path) {}

  /**
   * One call of the API, as {@link #ROUTES} says for the command's name, its answer printed; the
   * exit status says how it went.
   */
  abstract static class Call implements Callable<Integer> {
    @ParentCommand
    VmCommand parent;

    @Spec
    CommandSpec spec;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help message and exit.")
    boolean help;

    final Route route() {
      return ROUTES.get(spec.name());
    }

    String path() {
      return "/v1/vms" + route().path();
    }

    @Nullable String body() {
      return route().method().equals("POST") ? "{}" : null;
    }

    /** Prints a successful answer for people. */
    void print(PrintWriter out, JsonNode body) {
      printFields(out, body, "");
    }

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      String what = "replica vm " + spec.name();
      AdminClient.Response r;
      try {
        r = new AdminClient(parent.socket()).exchange(route().method(), path(), body());
      } catch (IOException e) {
        err.println(what + ": " + Preflight.describe(e) + " (pass --socket if it listens elsewhere than "
            + parent.socket() + ")");
        return 5;
      }
      if (!r.ok()) {
        err.println(what + ": " + r.body().path("error").asText("the host answered " + r.status()));
        return switch (r.status()) {
          case 400, 405, 413 -> 2;
          case 403 -> 4;
          case 404 -> 3;
          default -> 1;
        };
      }
      if (parent.json) {
        try {
          out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(r.body()));
        } catch (IOException e) {
          out.println(r.body().toString());
        }
      } else {
        print(out, r.body());
      }
      return after(out, err, r.body());
    }

    /** What follows a successful call (waiting for progress); the exit status. */
    int after(PrintWriter out, PrintWriter err, JsonNode body) {
      return 0;
    }

    static String vmPath(String vm) {
      return "/v1/vms/" + URLEncoder.encode(vm, StandardCharsets.UTF_8).replace("+", "%20");
    }
  }

  /** Prints an object's fields as "key: value" lines, nested objects indented. */
  static void printFields(PrintWriter out, JsonNode node, String indent) {
    if (!node.isObject()) {
      out.println(indent + node.asText());
      return;
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      JsonNode v = e.getValue();
      if (v.isObject()) {
        out.println(indent + e.getKey() + ":");
        printFields(out, v, indent + "  ");
      } else if (v.isArray()) {
        List<String> items = new ArrayList<>();
        v.forEach(x -> items.add(x.isValueNode() ? x.asText() : x.toString()));
        out.println(indent + e.getKey() + ": " + String.join(", ", items));
      } else {
        out.println(indent + e.getKey() + ": " + (v.isNull() ? "-" : v.asText()));
      }
    }
  }

  /** A table with a header row, columns as wide as their widest cell. */
  static void printTable(PrintWriter out, List<String> header, List<List<String>> rows) {
    int[] width = new int[header.size()];
    for (int i = 0; i < header.size(); i++) {
      width[i] = header.get(i).length();
      for (List<String> row : rows) {
        width[i] = Math.max(width[i], row.get(i).length());
      }
    }
    List<List<String>> all = new ArrayList<>();
    all.add(header);
    all.addAll(rows);
    for (List<String> row : all) {
      StringBuilder line = new StringBuilder();
      for (int i = 0; i < row.size(); i++) {
        line.append(i == row.size() - 1 ? row.get(i) : String.format(Locale.ROOT, "%-" + width[i] + "s  ", row.get(i)));
      }
      out.println(line.toString().stripTrailing());
    }
  }

  static String text(JsonNode n, String field) {
    JsonNode v = n.path(field);
    return v.isMissingNode() || v.isNull() ? "-" : v.asText();
  }

  @Command(name = "list", description = "Every machine the host replicates (Get-VMReplication).")
  static final class ListVms extends Call {
    @Override
    void print(PrintWriter out, JsonNode body) {
      List<List<String>> rows = new ArrayList<>();
      for (JsonNode vm : body.path("vms")) {
        rows.add(List.of(text(vm, "name"), text(vm, "id"), text(vm, "mode"), text(vm, "state"), text(vm, "health"),
            text(vm, "replicaServer"), text(vm, "lastReplicationTime")));
      }
      printTable(out, List.of("NAME", "ID", "MODE", "STATE", "HEALTH", "REPLICA SERVER", "LAST REPLICATION"), rows);
    }
  }

  /** A call about one machine. */
  abstract static class OnVm extends Call {
    @Parameters(index = "0", paramLabel = "VM", description = "The machine's name or id.")
    String vm;

    @Override
    String path() {
      return vmPath(vm) + route().path();
    }
  }

  @Command(name = "get", description = "One machine's replication: state, health and why, settings.")
  static final class Get extends OnVm {}

  @Command(name = "measure", description = "Replication statistics (Measure-VMReplication).")
  static final class Measure extends OnVm {}

  @Command(name = "recovery-points", description = "The recovery points a replica keeps.")
  static final class RecoveryPoints extends OnVm {
    @Override
    void print(PrintWriter out, JsonNode body) {
      List<List<String>> rows = new ArrayList<>();
      for (JsonNode p : body.path("recoveryPoints")) {
        rows.add(List.of(text(p, "cycle"), text(p, "time"), text(p, "type")));
      }
      printTable(out, List.of("POINT", "TIME", "TYPE"), rows);
    }
  }

  @Command(name = "remove", description = "Remove replication (Remove-VMReplication).")
  static final class Remove extends OnVm {}

  /** Options that make replication settings, for enable and reverse. */
  static final class SettingsOptions {
    @Option(names = "--replica-server", required = true, paramLabel = "HOST", description = "The replica server.")
    String replicaServer;

    @Option(names = "--port", description = "Its port (default: 443 for certificates, 80 for Kerberos).")
    @Nullable Integer port;

    @Option(names = "--authentication", paramLabel = "certificate|kerberos", defaultValue = "certificate",
        description = "How this host authenticates (default: ${DEFAULT-VALUE}).")
    String authentication;

    @Option(names = "--frequency", converter = DurationConverter.class, defaultValue = "300s",
        description = "How often a cycle replicates the changes: 30s, 300s or 900s (default: ${DEFAULT-VALUE}).")
    Duration frequency;

    @Option(names = "--recovery-points", defaultValue = "0",
        description = "Additional recovery points the replica keeps, 0-24 (default: ${DEFAULT-VALUE}).")
    int recoveryPoints;

    @Option(names = "--no-compression", description = "Send blocks uncompressed.")
    boolean noCompression;

    String json() {
      ObjectNode n = JSON.createObjectNode();
      n.put("replicaServer", replicaServer);
      if (port != null) {
        n.put("port", port);
      }
      n.put("authenticationType", authentication);
      n.put("frequencySeconds", frequency.toSeconds());
      if (recoveryPoints > 0) {
        n.put("additionalRecoveryPoints", recoveryPoints);
      }
      n.put("compression", !noCompression);
      return n.toString();
    }
  }

  @Command(name = "enable", description = "Enable replication of a machine of this host (Enable-VMReplication).")
  static final class Enable extends OnVm {
    @picocli.CommandLine.Mixin
    SettingsOptions settings = new SettingsOptions();

    @Override
    @Nullable String body() {
      return settings.json();
    }
  }

  /** Starts a long operation and, unless told not to, shows its progress until it ends. */
  abstract static class LongRunning extends OnVm {
    @Option(names = "--no-wait", description = "Return once started; 'replica vm get' shows the progress.")
    boolean noWait;

    @Override
    void print(PrintWriter out, JsonNode body) {
      out.println("started: " + text(body, "name") + " is " + text(body, "state"));
    }

    @Override
    int after(PrintWriter out, PrintWriter err, JsonNode body) {
      if (noWait) {
        return 0;
      }
      return Progress.follow(new AdminClient(parent.socket()), vmPath(vm), out, err, "replica vm " + spec.name());
    }
  }

  @Command(name = "start-initial", description = "Start initial replication (Start-VMInitialReplication).")
  static final class StartInitial extends LongRunning {}

  @Command(name = "suspend", description = "Suspend replication (Suspend-VMReplication).")
  static final class Suspend extends OnVm {}

  @Command(name = "resume", description = "Resume replication (Resume-VMReplication), or resynchronize.")
  static final class Resume extends LongRunning {
    @Option(names = "--resync", description = "Resynchronize (Resume-VMReplication -Resynchronize).")
    boolean resync;

    @Override
    String path() {
      return super.path() + (resync ? "?resync=true" : "");
    }

    @Override
    int after(PrintWriter out, PrintWriter err, JsonNode body) {
      return resync ? super.after(out, err, body) : 0;
    }
  }

  /** A call that names a recovery point, by cycle or by time. */
  abstract static class WithPoint extends OnVm {
    @Option(names = "--point", paramLabel = "N", description = "The recovery point (see recovery-points).")
    @Nullable Long point;

    @Option(names = "--time", paramLabel = "INSTANT", description = "The latest point at or before this time.")
    @Nullable String time;

    ObjectNode pointJson() {
      ObjectNode n = JSON.createObjectNode();
      if (point != null) {
        n.put("recoveryPoint", point);
      }
      if (time != null) {
        n.put("time", time);
      }
      return n;
    }

    @Override
    @Nullable String body() {
      return pointJson().toString();
    }
  }

  @Command(name = "test-failover", description = "Start a test failover on the replica (Start-VMFailover -AsTest).")
  static final class TestFailover extends WithPoint {}

  @Command(name = "stop-test-failover", description = "Stop a test failover (Stop-VMFailover).")
  static final class StopTestFailover extends OnVm {}

  @Command(name = "failover", description = "On the replica, fail over to a recovery point (Start-VMFailover);"
      + " with --prepare, on the primary, the planned failover (Start-VMFailover -Prepare).")
  static final class Failover extends WithPoint {
    @Option(names = "--prepare", description = "Planned failover, on the primary: send what is left, then stop.")
    boolean prepare;

    @Option(names = "--force", description = "Fail over even though the primary may still run the machine.")
    boolean force;

    @Override
    String path() {
      return super.path() + (prepare ? "/prepare" : "");
    }

    @Override
    @Nullable String body() {
      if (prepare) {
        return "{}";
      }
      ObjectNode n = pointJson();
      if (force) {
        n.put("force", true);
      }
      return n.toString();
    }
  }

  @Command(name = "complete", description = "Commit a failover (Complete-VMFailover).")
  static final class Complete extends OnVm {}

  @Command(name = "cancel", description = "Cancel a failover (Stop-VMFailover).")
  static final class Cancel extends OnVm {}

  @Command(name = "reverse", description = "Replicate back after a failover (Set-VMReplication -Reverse).")
  static final class Reverse extends OnVm {
    @picocli.CommandLine.Mixin
    SettingsOptions settings = new SettingsOptions();

    @Override
    @Nullable String body() {
      return settings.json();
    }
  }

  @Command(name = "verify", description = "Compare the replica with the primary now (online verify).")
  static final class Verify extends OnVm {}
}
