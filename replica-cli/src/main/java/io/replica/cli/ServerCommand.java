package io.replica.cli;

import io.replica.api.AuthenticationType;
import io.replica.api.AuthorizationEntry;
import io.replica.api.ReplicaServerSettings;
import io.replica.api.ReplicationManager;
import io.replica.core.ReplicaEngine;
import io.replica.spi.time.Clock;
import io.replica.spi.time.Scheduler;
import io.replica.spi.transport.Endpoint;
import io.replica.storage.vhdx.DirectoryStorageProvider;
import io.replica.transport.netty.Certificates;
import io.replica.transport.netty.KerberosSettings;
import io.replica.transport.netty.NettyTransport;
import io.replica.transport.netty.TlsCredentials;
import io.replica.transport.netty.TlsSettings;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code replica server}: runs a replica server in the foreground until stopped. Primaries
 * authenticate with mutual TLS (and Kerberos on its own port when a keytab is given); the
 * authorization list decides who may replicate and where their machines are stored. Each
 * accepted or refused connection is one line on standard output, with the reason. It runs as
 * {@code replica host} does ({@link Foreground}): SIGTERM or SIGINT stops it cleanly and the JVM
 * exits 143 or 130; exit 1 when it cannot start, 2 for a usage or configuration error.
 */
@Command(name = "server", mixinStandardHelpOptions = true,
    description = "Run a replica server in the foreground until stopped.")
final class ServerCommand implements Callable<Integer> {

  @Spec
  CommandSpec spec;

  @Option(names = "--config", paramLabel = "FILE", description = "Read the options from a"
      + " properties file (keys: listen, storage, cert, key, trust, allow, host, kerberos-port,"
      + " keytab, principal); options on the command line win.")
  Path config;

  @Option(names = "--listen", paramLabel = "HOST:PORT",
      description = "Where primaries connect with certificates.")
  String listen;

  @Option(names = "--storage", paramLabel = "DIR",
      description = "Where replica machines are stored (the default storage location).")
  Path storage;

  @Option(names = "--cert", paramLabel = "CERT.pem", description = "This server's certificate.")
  Path cert;

  @Option(names = "--key", paramLabel = "KEY.pem", description = "Its private key.")
  Path key;

  @Option(names = "--trust", paramLabel = "CA.pem", description = "The CA(s) primaries chain to.")
  Path trust;

  @Option(names = "--allow", paramLabel = "PATTERN[=DIR][@TRUSTGROUP]",
      description = "Admit primaries whose name matches PATTERN (one * allowed), storing their"
          + " machines in DIR (default: --storage); repeatable. Without it, any authenticated"
          + " primary is admitted.")
  List<String> allow = new ArrayList<>();

  @Option(names = "--host", paramLabel = "FQDN",
      description = "This server's name (default: the first name on its certificate).")
  String host;

  @Option(names = "--kerberos-port", paramLabel = "PORT",
      description = "Also accept Kerberos on this port (needs --keytab and --principal).")
  Integer kerberosPort;

  @Option(names = "--keytab", paramLabel = "FILE", description = "The keytab of the principal.")
  Path keytab;

  @Option(names = "--principal", paramLabel = "host/FQDN@REALM",
      description = "This server's Kerberos host principal.")
  String principal;

  /** Runs the server until a signal; tests stop it through {@code foreground.stop}. */
  final Foreground foreground = new Foreground("replica-server-stop");

  /** Whether two host names are the same host: without case and without a final dot, as DNS. */
  static boolean sameHost(String a, String b) {
    return normalHost(a).equals(normalHost(b));
  }

  private static String normalHost(String name) {
    String n = name.strip().toLowerCase(java.util.Locale.ROOT);
    return n.endsWith(".") ? n.substring(0, n.length() - 1) : n;
  }

  /** Parses {@code HOST:PORT} or {@code [V6]:PORT}. */
  static Endpoint parseEndpoint(String text) {
    int colon = text.lastIndexOf(':');
    if (colon <= 0 || colon == text.length() - 1) {
      throw new IllegalArgumentException("'" + text + "' is not HOST:PORT, e.g."
          + " replica.contoso.com:443");
    }
    String h = text.substring(0, colon);
    if (h.startsWith("[") && h.endsWith("]")) {
      h = h.substring(1, h.length() - 1);
    }
    int port;
    try {
      port = Integer.parseInt(text.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("'" + text + "' has no numeric port");
    }
    return new Endpoint(h, port);
  }

  /** An authorization entry from {@code PATTERN[=DIR][@TRUSTGROUP]}. */
  static AuthorizationEntry parseAllow(String text, Path storage) {
    String rest = text;
    String group = "default";
    int at = rest.lastIndexOf('@');
    if (at >= 0) {
      group = rest.substring(at + 1);
      rest = rest.substring(0, at);
    }
    Path dir = storage;
    int eq = rest.indexOf('=');
    if (eq >= 0) {
      dir = storage.resolve(rest.substring(eq + 1));
      rest = rest.substring(0, eq);
    }
    return new AuthorizationEntry(rest, dir.toAbsolutePath().normalize().toString(), group);
  }

  private void fromConfig(PrintWriter err) throws IOException {
    Properties p = new Properties();
    try (Reader r = Files.newBufferedReader(config)) {
      p.load(r);
    }
    Path base = config.toAbsolutePath().getParent();
    if (listen == null) {
      listen = p.getProperty("listen");
    }
    if (storage == null && p.getProperty("storage") != null) {
      storage = base.resolve(p.getProperty("storage"));
    }
    if (cert == null && p.getProperty("cert") != null) {
      cert = base.resolve(p.getProperty("cert"));
    }
    if (key == null && p.getProperty("key") != null) {
      key = base.resolve(p.getProperty("key"));
    }
    if (trust == null && p.getProperty("trust") != null) {
      trust = base.resolve(p.getProperty("trust"));
    }
    if (host == null) {
      host = p.getProperty("host");
    }
    if (allow.isEmpty() && p.getProperty("allow") != null) {
      for (String a : p.getProperty("allow").split("[,\\s]+")) {
        if (!a.isBlank()) {
          allow.add(a);
        }
      }
    }
    if (kerberosPort == null && p.getProperty("kerberos-port") != null) {
      String port = p.getProperty("kerberos-port").trim();
      try {
        kerberosPort = Integer.parseInt(port);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("kerberos-port '" + port + "' is not a port number");
      }
    }
    if (keytab == null && p.getProperty("keytab") != null) {
      keytab = base.resolve(p.getProperty("keytab"));
    }
    if (principal == null) {
      principal = p.getProperty("principal");
    }
    for (String name : p.stringPropertyNames()) {
      if (!Set.of("listen", "storage", "cert", "key", "trust", "host", "allow", "kerberos-port",
          "keytab", "principal").contains(name)) {
        err.println("ignoring unknown key '" + name + "' in " + config);
      }
    }
  }

  /**
   * The certificate, key and trust files as a server needs them: readable, the key the
   * certificate's, every certificate valid now, at least one trusted certificate.
   */
  private Optional<String> tlsProblem() {
    Optional<String> missing = Preflight.fileProblem("--cert", cert)
        .or(() -> Preflight.fileProblem("--key", key))
        .or(() -> Preflight.fileProblem("--trust", trust));
    if (missing.isPresent()) {
      return missing;
    }
    TlsCredentials credentials;
    try {
      credentials = TlsCredentials.readPem(cert, key);
      TlsCredentials.readCertificatesPem(trust);
    } catch (IOException e) {
      return Optional.of("cannot read the TLS files: " + Preflight.describe(e) + " (--cert "
          + cert + ", --key " + key + ", --trust " + trust + "; 'replica cert' makes them)");
    }
    return Preflight.credentialsProblem(credentials, cert, key, Instant.now());
  }

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    if (config != null) {
      try {
        fromConfig(err);
      } catch (IOException e) {
        err.println("replica server: cannot read --config: " + Preflight.describe(e));
        return 2;
      } catch (IllegalArgumentException e) {
        // A malformed Unicode escape, or a kerberos-port that is not a number.
        err.println("replica server: --config " + config + " is not a valid properties file: "
            + e.getMessage() + " (write one key=value per line)");
        return 2;
      }
    }
    if (listen == null || storage == null || cert == null || key == null || trust == null) {
      err.println("replica server needs --listen, --storage, --cert, --key and --trust (on the"
          + " command line or in --config)");
      return 2;
    }
    boolean kerberos = kerberosPort != null;
    if (kerberos && (keytab == null || principal == null)) {
      err.println("--kerberos-port needs --keytab and --principal");
      return 2;
    }
    Endpoint endpoint;
    List<AuthorizationEntry> entries = new ArrayList<>();
    try {
      endpoint = parseEndpoint(listen);
      for (String a : allow) {
        entries.add(parseAllow(a, storage));
      }
    } catch (IllegalArgumentException e) {
      err.println(e.getMessage());
      return 2;
    }
    Optional<String> problem = Preflight.listenProblem("--listen", endpoint.host(),
        endpoint.port());
    if (problem.isEmpty() && kerberos) {
      problem = kerberosPort == endpoint.port()
          ? Optional.of("--kerberos-port " + kerberosPort + " is the --listen port too; pass"
              + " another port")
          : Preflight.listenProblem("--kerberos-port", endpoint.host(), kerberosPort);
    }
    if (problem.isEmpty()) {
      problem = tlsProblem();
    }
    if (problem.isEmpty() && host != null) {
      problem = Preflight.unresolvable("--host", host);
    }
    if (problem.isEmpty()) {
      problem = Preflight.folderProblem("--storage", storage);
    }
    for (int i = 0; i < entries.size() && problem.isEmpty(); i++) {
      problem = Preflight.folderProblem("the folder of --allow '" + allow.get(i) + "',",
          Path.of(entries.get(i).storageLocation()));
    }
    if (problem.isPresent()) {
      err.println("replica server: " + problem.get());
      return 1;
    }
    TlsSettings tls;
    try {
      tls = TlsSettings.fromPemFiles(cert, key, trust);
    } catch (IOException e) {
      err.println("replica server: cannot read the TLS files: " + Preflight.describe(e));
      return 1;
    }
    String name = host;
    if (name == null) {
      List<String> names = Certificates.hostNames(tls.certificate());
      if (names.isEmpty()) {
        err.println("certificate " + cert + " names no host; pass --host");
        return 2;
      }
      name = names.get(0);
    }
    ReplicaServerSettings serverSettings;
    try {
      ReplicaServerSettings.Builder settings = ReplicaServerSettings.builder()
          .allowedAuthenticationTypes(kerberos
              ? EnumSet.of(AuthenticationType.CERTIFICATE, AuthenticationType.KERBEROS)
              : EnumSet.of(AuthenticationType.CERTIFICATE))
          .certificatePort(endpoint.port());
      if (kerberos) {
        settings.kerberosPort(kerberosPort);
      }
      if (entries.isEmpty()) {
        settings.allowAnyAuthenticatedServer(storage.toAbsolutePath().normalize().toString());
      } else {
        entries.forEach(settings::addAuthorizationEntry);
      }
      serverSettings = settings.build();
    } catch (IllegalArgumentException e) {
      err.println("replica server: " + e.getMessage());
      return 2;
    }
    String serverName = name;
    // The transport would log the same line again on standard error.
    String decisionLog = "org.slf4j.simpleLogger.log.io.replica.transport.netty.connections";
    if (System.getProperty(decisionLog) == null) {
      System.setProperty(decisionLog, "off");
    }
    NettyTransport.Builder tb = NettyTransport.builder().hostName(name).tls(tls)
        .connectionListener(decision -> {
          out.println(decision.describe());
          out.flush();
        })
        .authorizer(identity -> {
          if (sameHost(identity, serverName)) {
            return Optional.of("replica server " + serverName + " rejected primary '" + identity
                + "': that is this host (a machine cannot replicate to its own host; choose"
                + " another replica server)");
          }
          return serverSettings.authorize(identity).isPresent()
              ? Optional.empty()
              : Optional.of("replica server " + serverName + " rejected primary '" + identity
                  + "': not in the authorization list (add an entry with a matching pattern)");
        });
    if (kerberos) {
      try {
        tb.kerberos(KerberosSettings.fromKeytab(keytab, principal));
      } catch (IllegalArgumentException e) {
        err.println(e.getMessage());
        return 2;
      }
    }
    NettyTransport transport;
    try {
      transport = tb.build();
    } catch (IllegalStateException e) {
      err.println(e.getMessage());
      return 1;
    }
    ScheduledExecutorService executor = Executors.newScheduledThreadPool(2, r -> {
      Thread t = new Thread(r, "replica-server");
      t.setDaemon(true);
      return t;
    });
    DirectoryStorageProvider locations = new DirectoryStorageProvider();
    ReplicationManager engine = ReplicaEngine.builder().hostName(name)
        .listenHost(endpoint.host()).clock(Clock.system()).scheduler(Scheduler.of(executor))
        .transport(transport).storage(locations).build();
    return foreground.run(() -> {
      try {
        engine.setReplicaServerSettings(serverSettings);
      } catch (RuntimeException e) {
        // What the checks above cannot foresee, such as the port taken in the meantime.
        err.println("replica server: cannot start: " + e.getMessage());
        return 1;
      }
      out.println("replica server '" + serverName + "' listening on " + endpoint + " (certificate)"
          + (kerberos ? " and " + endpoint.host() + ":" + kerberosPort + " (Kerberos)" : "")
          + "; storage " + storage + "; "
          + (entries.isEmpty() ? "any authenticated primary" : "primaries " + allow)
          + " admitted");
      out.flush();
      return 0;
    }, () -> {
      engine.close();
      transport.close();
      executor.shutdownNow();
      try {
        locations.close(); // after the engine, which closed the disks it opened
      } catch (java.io.IOException e) {
        err.println("replica server: closing the storage locations failed: " + e.getMessage());
      }
    });
  }
}
