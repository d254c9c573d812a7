package io.replica.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replica.api.AuthenticationType;
import io.replica.spi.transport.Connection;
import io.replica.spi.transport.Endpoint;
import io.replica.spi.transport.Message;
import io.replica.spi.transport.MessageHandler;
import io.replica.spi.transport.Transport;
import io.replica.transport.netty.NettyTransport;
import io.replica.transport.netty.TlsSettings;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code replica server} with certificates made by {@code replica cert} and by openssl, probed
 * by {@code replica test-connection}: admitted primaries get exit 0, refused ones exit 1 with the
 * server's reason on one line.
 */
class ServerCommandTest {
  @TempDir Path dir;

  private final List<Thread> servers = new ArrayList<>();
  private int port;

  private static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private String p(String name) {
    return dir.resolve(name).toString();
  }

  @BeforeEach
  void certificates() throws Exception {
    assertEquals(0, CertCommandTest.run("cert", "new-ca", "--cert", p("ca.pem"),
        "--key", p("ca.key")).code());
    for (String[] hosts : new String[][] {{"replica.test", "localhost"}, {"primary.test"},
        {"other.test"}}) {
      List<String> args = new ArrayList<>(List.of("cert", "issue", "--ca-cert", p("ca.pem"),
          "--ca-key", p("ca.key"), "--cert", p(hosts[0] + ".pem"), "--key", p(hosts[0] + ".key")));
      for (String h : hosts) {
        args.add("--host");
        args.add(h);
      }
      assertEquals(0, CertCommandTest.run(args.toArray(new String[0])).code());
    }
    // openssl: a host certificate without clientAuth, signed by our CA.
    Files.writeString(dir.resolve("noclient.ext"),
        "subjectAltName=DNS:noclient.test\nextendedKeyUsage=serverAuth\n");
    CertCommandTest.openssl(dir, "req", "-new", "-newkey", "ec", "-pkeyopt",
        "ec_paramgen_curve:P-256", "-nodes", "-keyout", "noclient.key", "-subj",
        "/CN=noclient.test", "-out", "noclient.csr");
    CertCommandTest.openssl(dir, "x509", "-req", "-in", "noclient.csr", "-CA", "ca.pem",
        "-CAkey", "ca.key", "-CAcreateserial", "-days", "2", "-extfile", "noclient.ext",
        "-out", "noclient.pem");
    port = freePort();
  }

  @AfterEach
  void stopServers() throws Exception {
    for (Thread t : servers) {
      t.interrupt();
      t.join(30_000);
    }
  }

  private StringWriter startServer(String... extra) throws Exception {
    List<String> args = new ArrayList<>(List.of("server", "--listen", "127.0.0.1:" + port,
        "--storage", p("storage"), "--cert", p("replica.test.pem"), "--key",
        p("replica.test.key"), "--trust", p("ca.pem")));
    args.addAll(List.of(extra));
    return start(args);
  }

  private StringWriter start(List<String> args) throws Exception {
    SignallingWriter out = new SignallingWriter();
    StringWriter err = new StringWriter();
    AtomicInteger code = new AtomicInteger(-1);
    Thread t = new Thread(() -> {
      try {
        code.set(Main.run(new PrintWriter(out, true), new PrintWriter(err, true),
            args.toArray(new String[0])));
      } finally {
        out.signal(); // an exit is news to the waiter too
      }
    }, "server-under-test");
    t.start();
    servers.add(t);
    // Waits for the line, or the exit, not for a time; the deadline only bounds a hang.
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    synchronized (out) {
      while (!out.toString().contains("listening on")) {
        if (!t.isAlive()) {
          throw new AssertionError("server exited with " + code.get() + ": " + err);
        }
        long left = end - System.nanoTime();
        if (left <= 0) {
          throw new AssertionError("server did not say it listens within 60 s: " + out + err);
        }
        TimeUnit.NANOSECONDS.timedWait(out, left);
      }
    }
    return out;
  }

  /** Output that wakes whoever waits on it for each write. */
  private static final class SignallingWriter extends StringWriter {
    @Override
    public void write(int c) {
      super.write(c);
      signal();
    }

    @Override
    public void write(char[] chars, int off, int len) {
      super.write(chars, off, len);
      signal();
    }

    @Override
    public void write(String s) {
      super.write(s);
      signal();
    }

    @Override
    public void write(String s, int off, int len) {
      super.write(s, off, len);
      signal();
    }

    synchronized void signal() {
      notifyAll();
    }
  }

  private CertCommandTest.Run probe(String name) {
    return CertCommandTest.run("test-connection", "localhost:" + port, "--cert", p(name + ".pem"),
        "--key", p(name + ".key"), "--trust", p("ca.pem"));
  }

  /** The summary: the last line of the checklist. */
  private static String last(CertCommandTest.Run r) {
    List<String> lines = r.out().strip().lines().toList();
    return lines.get(lines.size() - 1);
  }

  /** The checklist line of {@code check}. */
  private static String check(CertCommandTest.Run r, String check) {
    return r.out().lines().filter(l -> l.substring(Math.min(9, l.length())).startsWith(check + ":")).findFirst()
        .orElseThrow(() -> new AssertionError("no line for " + check + " in\n" + r.out()));
  }

  @Test
  void authorizedPrimaryPassesEveryCheckAndOthersAreRefusedWithTheReason() throws Exception {
    startServer("--allow", "primary.test=vms@gold");
    CertCommandTest.Run ok = probe("primary.test");
    assertEquals(0, ok.code(), ok.out() + ok.err());
    assertTrue(last(ok).startsWith("ok: 'primary.test' authenticated to replica server"), ok.out());
    for (String c : List.of("certificate", "name", "port", "handshake", "authorized", "other host", "clocks")) {
      assertTrue(check(ok, c).startsWith("ok "), check(ok, c));
    }
    assertTrue(check(ok, "certificate").contains("days left"), ok.out());
    assertTrue(check(ok, "name").contains("resolves to"), ok.out());
    assertTrue(check(ok, "handshake").contains("TLS"), ok.out());
    // Both ends run on this machine: one clock.
    assertTrue(check(ok, "clocks").contains("the clock of 'replica.test' is 0."), ok.out());

    CertCommandTest.Run other = probe("other.test");
    assertEquals(1, other.code());
    assertEquals("rejected: replica server replica.test rejected primary 'other.test': not in"
        + " the authorization list (add an entry with a matching pattern)", last(other));
    assertTrue(check(other, "authorized").startsWith("failed "), other.out());
    assertTrue(check(other, "port").startsWith("ok "), other.out());

    CertCommandTest.Run noClient = probe("noclient");
    assertEquals(1, noClient.code());
    assertTrue(last(noClient).startsWith(
        "rejected: certificate has no clientAuth extended key usage"), noClient.out());
    try (Stream<Path> written = Files.walk(dir.resolve("storage"))) {
      assertTrue(written.noneMatch(f -> f.toString().endsWith(".vhdx")),
          "a refused primary wrote nothing");
    }
  }

  @Test
  void testConnectionToThisHostFailsWithTheReason() throws Exception {
    startServer();
    // The server's own certificate, through the alias "localhost": the server refuses it.
    CertCommandTest.Run itself = probe("replica.test");
    assertEquals(1, itself.code(), itself.out() + itself.err());
    assertEquals("rejected: replica server replica.test rejected primary 'replica.test': that is"
        + " this host (a machine cannot replicate to its own host; choose another replica server)",
        last(itself));
  }

  /** A replica server that does not check (another product, an older version) is caught too. */
  @Test
  void testConnectionToThisHostFailsEvenWhereTheServerAdmitsIt() throws Exception {
    NettyTransport server = NettyTransport.builder().hostName("replica.test").workerThreads(1)
        .tls(TlsSettings.fromPemFiles(dir.resolve("replica.test.pem"),
            dir.resolve("replica.test.key"), dir.resolve("ca.pem")))
        .build();
    try (Transport.Listener listener = server.listen(new Endpoint("127.0.0.1", port),
        AuthenticationType.CERTIFICATE, c -> new MessageHandler() {
          @Override
          public void onMessage(Connection connection, Message message) {}

          @Override
          public void onClosed(Connection connection, @Nullable Throwable cause) {}
        })) {
      CertCommandTest.Run itself = probe("replica.test");
      assertEquals(1, itself.code(), itself.out() + itself.err());
      assertEquals("failed: cannot replicate to replica server localhost:" + port
          + " ('replica.test'): that is this host, 'replica.test' (choose another replica server)",
          last(itself));
      assertTrue(check(itself, "other host").startsWith("failed "), itself.out());
      assertEquals(0, probe("primary.test").code(), "another host passes the same server");
    } finally {
      server.close();
    }
  }

  @Test
  void serverRunsFromAConfigFileAndAdmitsAnyAuthenticatedPrimary() throws Exception {
    Files.writeString(dir.resolve("server.properties"), String.join("\n",
        "listen=127.0.0.1:" + port, "storage=storage", "cert=replica.test.pem",
        "key=replica.test.key", "trust=ca.pem", ""));
    start(List.of("server", "--config", p("server.properties")));
    assertEquals(0, probe("other.test").code());
  }

  /**
   * Runs {@code replica server} with a bad configuration and returns its one line: it must exit
   * at once with a status other than 0 and no stack trace.
   */
  private String refused(String... args) throws Exception {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    AtomicInteger code = new AtomicInteger(-1);
    Thread t = new Thread(() -> code.set(Main.run(new PrintWriter(out, true),
        new PrintWriter(err, true), args)), "refused-server");
    t.start();
    // A guard against a server that starts anyway, not a timing assertion.
    t.join(120_000);
    if (t.isAlive()) {
      t.interrupt();
      t.join(30_000);
      throw new AssertionError("the server started with " + List.of(args) + ": " + out);
    }
    assertTrue(code.get() != 0, "exit status 0 for " + List.of(args) + ": " + out + err);
    String line = err.toString().strip();
    assertEquals(1, line.lines().count(), "one line expected: " + err);
    assertTrue(line.startsWith("replica server: "), line);
    assertTrue(!line.contains("Exception") && !line.contains("null"), line);
    return line;
  }

  private String[] serverArgs(String... extra) {
    List<String> args = new ArrayList<>(List.of("server", "--listen", "127.0.0.1:" + port,
        "--storage", p("storage"), "--cert", p("replica.test.pem"), "--key",
        p("replica.test.key"), "--trust", p("ca.pem")));
    for (int i = 0; i < extra.length; i += 2) {
      int at = args.indexOf(extra[i]);
      if (at >= 0) {
        args.set(at + 1, extra[i + 1]);
      } else {
        args.add(extra[i]);
        args.add(extra[i + 1]);
      }
    }
    return args.toArray(new String[0]);
  }

  @Test
  void aKeyThatIsNotTheCertificatesIsRefusedAtStart() throws Exception {
    String line = refused(serverArgs("--key", p("other.test.key")));
    assertTrue(line.contains("the private key in " + p("other.test.key")
        + " does not belong to the certificate in " + p("replica.test.pem")), line);
  }

  @Test
  void anExpiredCertificateOrOneNotValidYetIsRefusedAtStart() throws Exception {
    CertCommandTest.keytool(dir, "expired.test", "-30d", 10, false);
    String line = refused(serverArgs("--cert", p("expired.test.pem"), "--key",
        p("expired.test.key")));
    assertTrue(line.contains("'CN=expired.test' in " + p("expired.test.pem") + " expired on"),
        line);
    CertCommandTest.keytool(dir, "future.test", "+30d", 10, false);
    line = refused(serverArgs("--cert", p("future.test.pem"), "--key", p("future.test.key")));
    assertTrue(line.contains("'CN=future.test' in " + p("future.test.pem")
        + " is not valid before"), line);
  }

  @Test
  void aPortInUseIsRefusedWithOneLine() throws Exception {
    try (ServerSocket taken = new ServerSocket(port, 1,
        java.net.InetAddress.getByName("127.0.0.1"))) {
      String line = refused(serverArgs());
      assertTrue(line.contains("--listen port " + port + " on 127.0.0.1 is already in use"),
          line);
    }
    assertTrue(refused(serverArgs("--listen", "127.0.0.1:0")).contains("out of range"));
  }

  @Test
  void storageThatIsAFileOrCannotBeCreatedIsRefused() throws Exception {
    Files.writeString(dir.resolve("afile"), "not a folder");
    String line = refused(serverArgs("--storage", p("afile")));
    assertTrue(line.contains("--storage '" + p("afile") + "' is a file, not a folder"), line);
    line = refused(serverArgs("--storage", dir.resolve("afile").resolve("sub").toString()));
    assertTrue(line.contains("cannot be created"), line);
  }

  @Test
  void anAllowFolderThatIsAFileIsRefused() throws Exception {
    Files.createDirectories(dir.resolve("storage"));
    Files.writeString(dir.resolve("storage").resolve("vms"), "not a folder");
    String line = refused(serverArgs("--allow", "primary.test=vms"));
    assertTrue(line.contains("--allow 'primary.test=vms'") && line.contains("is a file"), line);
  }

  @Test
  void namesThatDoNotResolveAreRefused() throws Exception {
    String line = refused(serverArgs("--listen", "nosuch.invalid:" + port));
    assertTrue(line.contains("--listen host 'nosuch.invalid' does not resolve"), line);
    line = refused(serverArgs("--host", "nosuch.invalid"));
    assertTrue(line.contains("--host 'nosuch.invalid' does not resolve"), line);
  }

  @Test
  void aMalformedConfigFileIsOneLine() throws Exception {
    Files.writeString(dir.resolve("bad.properties"), "listen=127.0.0.1:\\uZZZZ\n");
    String line = refused("server", "--config", p("bad.properties"));
    assertTrue(line.contains("--config " + p("bad.properties") + " is not a valid properties"
        + " file"), line);
    Files.writeString(dir.resolve("port.properties"), "kerberos-port=eighty\n");
    line = refused("server", "--config", p("port.properties"));
    assertTrue(line.contains("kerberos-port 'eighty' is not a port number"), line);
  }

  @Test
  void testConnectionToNothingSaysThePortIsClosed() throws Exception {
    CertCommandTest.Run r = probe("primary.test");
    assertEquals(1, r.code());
    assertTrue(last(r).startsWith("failed: cannot connect to replica server localhost:" + port), r.out());
    assertTrue(check(r, "name").startsWith("ok "), r.out());
    assertTrue(check(r, "port").startsWith("failed ") && check(r, "port").contains("start the replica server"),
        r.out());
    assertTrue(!r.out().contains("handshake:"), "nothing after the port is tried: " + r.out());
  }

  @Test
  void testConnectionToANameThatDoesNotResolveSaysSo() throws Exception {
    CertCommandTest.Run r = CertCommandTest.run("test-connection", "no-such-host.invalid:" + port, "--cert",
        p("primary.test.pem"), "--key", p("primary.test.key"), "--trust", p("ca.pem"));
    assertEquals(1, r.code());
    assertTrue(check(r, "name").startsWith("failed ") && check(r, "name").contains("does not resolve"), r.out());
    assertTrue(!r.out().contains("port:"), r.out());
  }
}
