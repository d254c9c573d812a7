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
 * {@code replica test-connection HOST:PORT}: connects to a replica server as this host would
 * replicate, and says in one line whether it authenticated and was admitted, or why not. A server
 * that authenticates as this very host fails the test: a machine cannot replicate to its own host.
 * Exit 0 when admitted, 1 when refused, unreachable or this host, 2 on a usage error.
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

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    Endpoint remote;
    try {
      remote = ServerCommand.parseEndpoint(server);
    } catch (IllegalArgumentException e) {
      spec.commandLine().getErr().println(e.getMessage());
      return 2;
    }
    boolean kerberos = keytab != null || principal != null;
    if (kerberos ? (keytab == null || principal == null)
        : (cert == null || key == null || trust == null)) {
      spec.commandLine().getErr().println(kerberos
          ? "Kerberos needs both --keytab and --principal"
          : "give --cert, --key and --trust (or --keytab and --principal for Kerberos)");
      return 2;
    }
    // The answer is the one line on standard output; the transport's own log lines about the
    // same refusal would only repeat it (unless the user asked for them).
    if (System.getProperty("org.slf4j.simpleLogger.log.io.replica.transport.netty") == null) {
      System.setProperty("org.slf4j.simpleLogger.log.io.replica.transport.netty", "error");
    }
    NettyTransport transport;
    String me;
    try {
      NettyTransport.Builder b = NettyTransport.builder().workerThreads(1);
      if (kerberos) {
        KerberosSettings k = KerberosSettings.fromKeytab(keytab, principal);
        me = host != null ? host : principal.substring(principal.indexOf('/') + 1,
            principal.lastIndexOf('@'));
        b.kerberos(k);
      } else {
        TlsSettings tls = TlsSettings.fromPemFiles(cert, key, trust);
        List<String> names = Certificates.hostNames(tls.certificate());
        if (host == null && names.isEmpty()) {
          out.println("failed: certificate " + cert + " names no host; pass --host");
          return 1;
        }
        me = host != null ? host : names.get(0);
        b.tls(tls);
      }
      transport = b.hostName(me).build();
    } catch (IOException | RuntimeException e) {
      out.println("failed: " + e.getMessage());
      return 1;
    }
    try {
      AuthenticationType type = kerberos ? AuthenticationType.KERBEROS
          : AuthenticationType.CERTIFICATE;
      Connection c = transport.connect(remote, new ConnectOptions(type, false), new Quiet())
          .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      String server = c.peerIdentity();
      c.close();
      if (ServerCommand.sameHost(server, me)) {
        // Hyper-V refuses it too: the replica would be the primary's own host.
        out.println("failed: cannot replicate to replica server " + remote + " ('" + server
            + "'): that is this host, '" + me + "' (choose another replica server)");
        return 1;
      }
      out.println("ok: '" + me + "' authenticated to replica server " + remote + " ('"
          + server + "') and was admitted");
      return 0;
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof AuthenticationException) {
        out.println("rejected: " + ((AuthenticationException) cause).reason());
      } else {
        out.println("failed: " + cause.getMessage());
      }
      return 1;
    } catch (TimeoutException e) {
      out.println("failed: no answer from " + remote + " within " + timeout.toSeconds() + " s");
      return 1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      out.println("failed: interrupted");
      return 1;
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
