package io.replica.cli;

import io.replica.host.HostConfig;
import io.replica.host.HostService;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code replica host --config FILE}: runs this host as a service in the foreground (systemd's
 * {@code Type=simple}): the machines of the configuration with their disks over NBD, the replica
 * server role if configured, and the replication the host was asked for before it stopped. Logs go
 * to standard output and error; SIGTERM or SIGINT stops it cleanly ({@link Foreground}: the JVM
 * then exits 143 or 130). Exit 1 when it cannot start, 2 for a configuration that is wrong.
 */
@Command(name = "host", mixinStandardHelpOptions = true,
    description = "Run this host: its machines' disks over NBD, replication, and the replica server role.")
final class HostCommand implements Callable<Integer> {

  @Spec
  CommandSpec spec;

  @Option(names = "--config", required = true, paramLabel = "FILE",
      description = "The host configuration (JSON; see docs/host.md).")
  Path config;

  /** Runs the service until a signal; tests stop it through {@code foreground.stop}. */
  final Foreground foreground = new Foreground("replica-host-stop");

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    if (!Files.isRegularFile(config)) {
      err.println("replica host: --config " + config + " is not a file; write one as docs/host.md shows");
      return 2;
    }
    HostConfig c;
    try {
      c = HostConfig.read(config);
    } catch (HostConfig.InvalidConfigException e) {
      err.println("replica host: " + e.getMessage());
      return 2;
    } catch (IOException e) {
      err.println("replica host: cannot read --config: " + Preflight.describe(e));
      return 2;
    }
    HostService service;
    try {
      service = HostService.start(c);
    } catch (IOException | RuntimeException e) {
      err.println("replica host: cannot start: " + e.getMessage());
      return 1;
    }
    return foreground.run(() -> {
      out.println("replica host '" + c.hostName() + "' runs " + c.machines().size() + " machine"
          + (c.machines().size() == 1 ? "" : "s") + "; NBD on " + c.nbd().unixSocket()
          + service.nbd().tcpAddress().map(a -> " and " + a + " (TLS)").orElse("")
          + c.replicaServer().map(r -> "; replica server on " + r.listenHost() + ":" + r.port() + ", storage "
              + r.storage()).orElse(""));
      for (var vm : service.machines()) {
        for (int i = 0; i < vm.disks().size(); i++) {
          out.println("  " + vm.name() + ": nbd+unix:///" + HostService.exportName(vm.name(), i) + "?socket="
              + c.nbd().unixSocket());
        }
      }
      out.flush();
      return 0;
    }, service::close);
  }
}
