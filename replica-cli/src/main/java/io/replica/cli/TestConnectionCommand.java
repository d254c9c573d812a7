package io.replica.cli;

import io.replica.api.AuthenticationType;
import io.replica.spi.transport.ConnectOptions;
import io.replica.spi.transport.Connection;
import io.replica.spi.transport.Endpoint;
import io.replica.spi.transport.Message;
import io.replica.spi.transport.MessageHandler;
import io.replica.transport.netty.AuthenticationException;
import io.replica.transport.netty.Certificates;
import io.replica.transport.netty.KerberosSettings;
import io.replica.transport.netty.NettyTransport;
import io.replica.transport.netty.TlsSettings;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code replica test-connection HOST:PORT}: the checks a primary passes before it can replicate
 * to a replica server, one line each ({@code ok}, {@code warning} or {@code failed}, the check,
 * and what to do): this host's credentials, the server's name and port, the handshake, the
 * server's decision, that the server is not this very host, and that the clocks agree. A last
 * line sums it up as before. Exit 0 when admitted (warnings allowed), 1 when a check failed, 2 on
 * a usage error.
 */
@Command(name = "test-connection", mixinStandardHelpOptions = true,
    description = "Check that this host authenticates to a replica server and is authorized.")
final class TestConnectionCommand implements Callable<Integer> {

  @Spec
  CommandSpec spec;

  @Parameters(index = "0", paramLabel = "HOST:PORT", description = "The replica server.")
  String server;

  @Option(names = "--cert", paramLabel = "CERT.pem", description = "This host's certificate.")
  Path cert;

  @Option(names = "--key", paramLabel = "KEY.pem", description = "Its private key.")
  Path key;

  @Option(names = "--trust", paramLabel = "CA.pem", description = "The CA(s) to trust.")
  Path trust;

  @Option(names = "--host", paramLabel = "FQDN",
      description = "This host's name (default: the first name on its certificate or principal).")
  String host;

  @Option(names = "--keytab", paramLabel = "FILE",
      description = "Authenticate with Kerberos from this keytab instead of a certificate.")
  Path keytab;

  @Option(names = "--principal", paramLabel = "host/FQDN@REALM",
      description = "The Kerberos principal in the keytab.")
  String principal;

  @Option(names = "--timeout", defaultValue = "30s", converter = DurationConverter.class,
      description = "How long to wait for the server (default 30s).")
  java.time.Duration timeout;

  /** Clocks further apart than this fail the check: Kerberos refuses them, certificates may too. */
  static final java.time.Duration CLOCK_SKEW_MAX = java.time.Duration.ofMinutes(5);

  /** Certificates with fewer days left than this get a warning. */
  static final int CERTIFICATE_WARNING_DAYS = 30;

  /** One line per check: what was checked, and what to do when it did not pass. */
  private final class Checklist {
    final PrintWriter out = spec.commandLine().getOut();
    boolean failed;

    void ok(String check, String detail) {
      out.printf("%-8s %s: %s%n", "ok", check, detail);
    }

    void warning(String check, String detail) {
      out.printf("%-8s %s: %s%n", "warning", check, detail);
    }

    /** A failed check; the ones after it that need it are skipped. */
    int failed(String check, String detail, String summary) {
      out.printf("%-8s %s: %s%n", "failed", check, detail);
      out.println(summary);
      failed = true;
      return 1;
    }
  }

  @Override
  public Integer call() {
    Endpoint remote;
    try {
      remote = ServerCommand.parseEndpoint(server);
    } catch (IllegalArgumentException e) {
      spec.commandLine().getErr().println(e.getMessage());
      return 2;
    }
    boolean kerberos = keytab != null || principal != null;
    if (principal != null && (principal.indexOf('/') < 1 || principal.lastIndexOf('@') < principal.indexOf('/') + 2)) {
      spec.commandLine().getErr().println("--principal '" + principal.replaceAll("[^\\x20-\\x7e]", "?")
          + "' is not a host principal; write host/FQDN@REALM");
      return 2;
    }
    if (kerberos ? (keytab == null || principal == null)
        : (cert == null || key == null || trust == null)) {
      spec.commandLine().getErr().println(kerberos
          ? "Kerberos needs both --keytab and --principal"
          : "give --cert, --key and --trust (or --keytab and --principal for Kerberos)");
      return 2;
    }
    // The answer is on standard output; the transport's own log lines about the same refusal
    // would only repeat it (unless the user asked for them).
    if (System.getProperty("org.slf4j.simpleLogger.log.io.replica.transport.netty") == null) {
      System.setProperty("org.slf4j.simpleLogger.log.io.replica.transport.netty", "error");
    }
    Checklist list = new Checklist();

    // 1. This host's own credentials.
    NettyTransport transport;
    String me;
    try {
      NettyTransport.Builder b = NettyTransport.builder().workerThreads(1);
      if (kerberos) {
        KerberosSettings k = KerberosSettings.fromKeytab(keytab, principal);
        me = host != null ? host : principal.substring(principal.indexOf('/') + 1,
            principal.lastIndexOf('@'));
        b.kerberos(k);
        list.ok("credentials", "keytab " + keytab + " holds " + principal);
      } else {
        TlsSettings tls = TlsSettings.fromPemFiles(cert, key, trust);
        List<String> names = Certificates.hostNames(tls.certificate());
        if (host == null && names.isEmpty()) {
          return list.failed("credentials", "certificate " + cert + " names no host",
              "failed: certificate " + cert + " names no host; pass --host");
        }
        me = host != null ? host : names.get(0);
        String subject = "'" + tls.certificate().getSubjectX500Principal().getName() + "'";
        java.time.Instant now = java.time.Instant.now();
        java.time.Instant notAfter = tls.certificate().getNotAfter().toInstant();
        java.time.Instant notBefore = tls.certificate().getNotBefore().toInstant();
        long daysLeft = java.time.Duration.between(now, notAfter).toDays();
        if (now.isAfter(notAfter) || now.isBefore(notBefore)) {
          return list.failed("certificate", subject + " is valid from " + notBefore + " to " + notAfter
              + ", not now; issue a new one ('replica cert issue')", "failed: certificate " + cert + " is not valid now");
        } else if (daysLeft < CERTIFICATE_WARNING_DAYS) {
          list.warning("certificate", subject + " expires on " + notAfter + ", in " + daysLeft
              + " days; renew it before then");
        } else {
          list.ok("certificate", subject + " is valid until " + notAfter + " (" + daysLeft + " days left)");
        }
        b.tls(tls);
      }
      transport = b.hostName(me).build();
    } catch (IOException | RuntimeException e) {
      return list.failed("credentials", String.valueOf(e.getMessage()), "failed: " + e.getMessage());
    }
    try {
      // 2. The name and the port, before any handshake, so that a failure says which.
      java.net.InetAddress[] addresses;
      try {
        addresses = java.net.InetAddress.getAllByName(remote.host());
      } catch (java.net.UnknownHostException e) {
        return list.failed("name", remote.host() + " does not resolve; check its DNS name (or give an address)",
            "failed: cannot connect to replica server " + remote + ": its name does not resolve");
      }
      list.ok("name", remote.host() + " resolves to " + java.util.Arrays.stream(addresses)
          .map(java.net.InetAddress::getHostAddress).collect(java.util.stream.Collectors.joining(", ")));
      String reached = null;
      IOException refused = null;
      for (java.net.InetAddress a : addresses) {
        try (java.net.Socket probe = new java.net.Socket()) {
          probe.connect(new java.net.InetSocketAddress(a, remote.port()), (int) Math.min(timeout.toMillis(), 30_000));
          reached = a.getHostAddress();
          break;
        } catch (IOException e) {
          refused = e;
        }
      }
      if (reached == null) {
        return list.failed("port", "nothing accepts connections on port " + remote.port() + " of " + remote.host()
            + " (" + refused.getMessage() + "); start the replica server there, or open the port in its firewall",
            "failed: cannot connect to replica server " + remote + ": " + refused.getMessage());
      }
      list.ok("port", reached + ":" + remote.port() + " accepts connections");

      // 3. The handshake and the server's decision.
      AuthenticationType type = kerberos ? AuthenticationType.KERBEROS : AuthenticationType.CERTIFICATE;
      Connection c;
      try {
        c = transport.connect(remote, new ConnectOptions(type, false), new Quiet())
            .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      } catch (ExecutionException e) {
        Throwable cause = e.getCause();
        if (cause instanceof AuthenticationException) {
          String reason = ((AuthenticationException) cause).reason();
          return list.failed("authorized", reason, "rejected: " + reason);
        }
        return list.failed("handshake", String.valueOf(cause.getMessage()), "failed: " + cause.getMessage());
      } catch (TimeoutException e) {
        return list.failed("handshake", "no answer from " + remote + " within " + timeout.toSeconds() + " s",
            "failed: no answer from " + remote + " within " + timeout.toSeconds() + " s");
      }
      String server = c.peerIdentity();
      java.util.Optional<java.time.Duration> skew = java.util.Optional.empty();
      java.time.Duration uncertainty = java.time.Duration.ZERO;
      java.util.Optional<io.replica.transport.netty.ConnectionDetails> details = NettyTransport.details(c);
      if (details.isPresent()) {
        list.ok("handshake", details.get().security() + " with '" + server + "'");
        skew = details.get().peerClockOffset();
        uncertainty = details.get().peerClockUncertainty();
      }
      c.close();
      if (ServerCommand.sameHost(server, me)) {
        // Hyper-V refuses it too: the replica would be the primary's own host.
        return list.failed("other host", "replica server " + remote + " is '" + server + "', this very host",
            "failed: cannot replicate to replica server " + remote + " ('" + server
                + "'): that is this host, '" + me + "' (choose another replica server)");
      }
      list.ok("authorized", "replica server '" + server + "' admitted '" + me + "'");
      list.ok("other host", "'" + server + "' is not this host ('" + me + "')");

      // 4. The clocks: Kerberos, certificate checks and recovery point times depend on them.
      if (skew.isEmpty()) {
        list.warning("clocks", "replica server '" + server + "' does not tell its clock (an older build); compare"
            + " the clocks by hand");
      } else {
        java.time.Duration d = skew.get();
        String how = String.format(java.util.Locale.ROOT, "%.1f s %s this host's (give or take %.1f s)",
            Math.abs(d.toMillis()) / 1000.0, d.isNegative() ? "behind" : "ahead of",
            uncertainty.toMillis() / 1000.0);
        if (d.abs().minus(uncertainty).compareTo(CLOCK_SKEW_MAX) > 0) {
          return list.failed("clocks", "the clock of '" + server + "' is " + how + "; synchronize both hosts"
              + " with NTP (Kerberos refuses clocks more than " + CLOCK_SKEW_MAX.toMinutes() + " min apart)",
              "failed: the clocks of '" + me + "' and '" + server + "' are more than " + CLOCK_SKEW_MAX.toMinutes()
                  + " min apart");
        }
        list.ok("clocks", "the clock of '" + server + "' is " + how);
      }
      list.out.println("ok: '" + me + "' authenticated to replica server " + remote + " ('"
          + server + "') and was admitted");
      return 0;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return list.failed("handshake", "interrupted", "failed: interrupted");
    } finally {
      transport.close();
    }
  }

  private static final class Quiet implements MessageHandler {
    @Override
    public void onMessage(Connection connection, Message message) {}

    @Override
    public void onClosed(Connection connection, @Nullable Throwable cause) {}
  }
}
