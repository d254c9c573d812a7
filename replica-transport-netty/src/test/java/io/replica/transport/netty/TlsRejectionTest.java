package io.replica.transport.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.replica.api.AuthenticationType;
import io.replica.spi.transport.Connection;
import io.replica.spi.transport.Endpoint;
import io.replica.spi.transport.Transport;
import io.replica.transport.netty.internal.codec.Frame;
import io.replica.transport.netty.internal.codec.FrameDecoder;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every certificate a replica server must refuse is refused with a reason that names the failed
 * check, on the primary (from the server's error frame) as on the server (its connection decision,
 * which is also its log line), and the engine's handler factory is never called: nothing of a
 * refused primary reaches the replica. These run on BoringSSL, which the tests have on the class
 * path.
 */
class TlsRejectionTest {
  static final TlsCredentials CA = NettyTransportTest.CA;
  static final TlsCredentials OTHER_CA = Certificates.newCa("Other CA", Duration.ofDays(2));

  private final List<Transport> open = new ArrayList<>();
  private final AtomicInteger accepted = new AtomicInteger();
  /** What the replica servers of a test decided, in order. */
  private final LinkedBlockingQueue<ConnectionDecision> decisions = new LinkedBlockingQueue<>();
  private Transport.Listener listener;

  @TempDir Path dir;

  @BeforeEach
  void startServer() throws Exception {
    listener = transport("replica.test", Certificates.issue(CA,
        List.of("replica.test", "localhost"), Duration.ofDays(1)), CA.certificate())
        .listen(Peers.any(), AuthenticationType.CERTIFICATE, c -> {
          accepted.incrementAndGet();
          return new Peers.Recorder();
        });
  }

  @AfterEach
  void closeAll() {
    for (Transport t : open) {
      t.close();
    }
  }

  /** Every transport of these tests; {@link JdkTlsRejectionTest} runs them on the JDK's TLS. */
  NettyTransport.Builder builder() {
    return NettyTransport.builder();
  }

  private NettyTransport transport(String host, TlsCredentials creds, X509Certificate trusted) {
    NettyTransport t = builder().hostName(host).workerThreads(1)
        .connectionListener(decisions::add)
        .tls(TlsSettings.of(creds, List.of(trusted))).build();
    open.add(t);
    return t;
  }

  private Connection connect(TlsCredentials creds) throws Exception {
    return transport("primary.test", creds, CA.certificate())
        .connect(new Endpoint("localhost", listener.endpoint().port()), Peers.TLS,
            new Peers.Recorder())
        .get(30, TimeUnit.SECONDS);
  }

  private void assertRejected(TlsCredentials creds, String reason) {
    ExecutionException e = assertThrows(ExecutionException.class, () -> connect(creds));
    assertTrue(e.getCause() instanceof AuthenticationException, e.getCause().toString());
    assertTrue(((AuthenticationException) e.getCause()).reason().contains(reason),
        ((AuthenticationException) e.getCause()).reason());
    assertTrue(e.getCause().getMessage().contains(reason),
        "expected '" + reason + "' in: " + e.getCause().getMessage());
    assertEquals(0, accepted.get(), "a refused primary reached the engine");
    ConnectionDecision d = nextDecision();
    assertFalse(d.accepted(), d.describe());
    assertNull(d.identity(), "refused before it proved a name: " + d);
    assertTrue(d.reason().contains(reason), "expected '" + reason + "' in: " + d.reason());
    assertEquals("rejected connection from " + d.remote() + ": " + d.reason(), d.describe());
  }

  /** The next connection decision of a replica server; made before the primary hears it. */
  private ConnectionDecision nextDecision() {
    ConnectionDecision d;
    try {
      d = decisions.poll(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted while waiting for a decision", e);
    }
    if (d == null) {
      throw new AssertionError("no replica server decided about a connection within 30 s");
    }
    return d;
  }

  private static Instant now() {
    return Instant.now();
  }

  @Test
  void authorizedCertificateConnects() throws Exception {
    Connection c = connect(Certificates.issue(CA, "primary.test", Duration.ofDays(1)));
    assertEquals("replica.test", c.peerIdentity());
    c.close();
    ConnectionDecision d = nextDecision();
    assertTrue(d.accepted(), d.describe());
    assertEquals("primary.test", d.identity());
    assertTrue(d.describe().startsWith("accepted connection from 127.0.0.1:"), d.describe());
    assertTrue(d.reason().contains("TLSv1."), d.reason());
  }

  @Test
  void certificateFromAnUntrustedCaIsRejected() {
    assertRejected(Certificates.issue(OTHER_CA, "primary.test", Duration.ofDays(1)),
        "does not chain to a trusted root");
  }

  @Test
  void expiredCertificateIsRejected() {
    assertRejected(Certificates.make(CA, "primary.test", List.of("primary.test"),
        now().minus(Duration.ofDays(10)), now().minus(Duration.ofDays(1)), true, true, false),
        "expired on");
  }

  @Test
  void certificateWithoutClientAuthIsRejected() {
    assertRejected(Certificates.make(CA, "primary.test", List.of("primary.test"),
        now().minusSeconds(60), now().plus(Duration.ofDays(1)), false, true, false),
        "certificate has no clientAuth extended key usage");
  }

  @Test
  void certificateWithoutServerAuthIsRejected() {
    assertRejected(Certificates.make(CA, "primary.test", List.of("primary.test"),
        now().minusSeconds(60), now().plus(Duration.ofDays(1)), true, false, false),
        "certificate has no serverAuth extended key usage");
  }

  @Test
  void certificateForAnotherHostIsRejected() {
    assertRejected(Certificates.issue(CA, "other.test", Duration.ofDays(1)),
        "not the host 'primary.test' it claims to be");
  }

  @Test
  void primaryNotInTheAuthorizationListIsRefusedWithTheReason() throws Exception {
    NettyTransport server = builder().hostName("replica.test").workerThreads(1)
        .tls(TlsSettings.of(Certificates.issue(CA, List.of("replica.test", "localhost"),
            Duration.ofDays(1)), List.of(CA.certificate())))
        .connectionListener(decisions::add)
        .authorizer(id -> id.endsWith(".allowed.test") ? java.util.Optional.empty()
            : java.util.Optional.of("replica server replica.test rejected primary '" + id
                + "': not in the authorization list (add an entry with a matching pattern)"))
        .build();
    open.add(server);
    AtomicInteger seen = new AtomicInteger();
    Transport.Listener l = server.listen(Peers.any(), AuthenticationType.CERTIFICATE, c -> {
      seen.incrementAndGet();
      return new Peers.Recorder();
    });
    ExecutionException e = assertThrows(ExecutionException.class, () ->
        transport("primary.test", Certificates.issue(CA, "primary.test", Duration.ofDays(1)),
            CA.certificate())
            .connect(new Endpoint("localhost", l.endpoint().port()), Peers.TLS,
                new Peers.Recorder())
            .get(30, TimeUnit.SECONDS));
    AuthenticationException refused = (AuthenticationException) e.getCause();
    assertTrue(refused.byPeer());
    assertTrue(refused.reason().contains("not in the authorization list"), refused.reason());
    assertEquals(0, seen.get());
    ConnectionDecision d = nextDecision();
    assertFalse(d.accepted());
    assertEquals("primary.test", d.identity(), "refused after it proved its name");
    assertEquals(refused.reason(), d.reason(), "both sides give the same reason");
    Connection ok = transport("hv1.allowed.test",
        Certificates.issue(CA, "hv1.allowed.test", Duration.ofDays(1)), CA.certificate())
        .connect(new Endpoint("localhost", l.endpoint().port()), Peers.TLS, new Peers.Recorder())
        .get(30, TimeUnit.SECONDS);
    ok.close();
    assertEquals(1, seen.get());
    ConnectionDecision admitted = nextDecision();
    assertTrue(admitted.accepted(), admitted.describe());
    assertEquals("hv1.allowed.test", admitted.identity());
  }

  @Test
  void wildcardCertificateNamesOneLabel() throws Exception {
    NettyTransport t = transport("hv1.contoso.test",
        Certificates.issue(CA, "*.contoso.test", Duration.ofDays(1)), CA.certificate());
    Peers.Recorder server = new Peers.Recorder();
    AtomicInteger seen = new AtomicInteger();
    Transport.Listener l = transport("replica.test", Certificates.issue(CA,
        List.of("replica.test", "localhost"), Duration.ofDays(1)), CA.certificate())
        .listen(Peers.any(), AuthenticationType.CERTIFICATE, c -> {
          assertEquals("hv1.contoso.test", c.peerIdentity());
          seen.incrementAndGet();
          return server;
        });
    t.connect(new Endpoint("localhost", l.endpoint().port()), Peers.TLS, new Peers.Recorder())
        .get(30, TimeUnit.SECONDS).close();
    assertEquals(1, seen.get());
    NettyTransport deep = transport("a.hv1.contoso.test",
        Certificates.issue(CA, "*.contoso.test", Duration.ofDays(1)), CA.certificate());
    ExecutionException e = assertThrows(ExecutionException.class, () -> deep.connect(
        new Endpoint("localhost", l.endpoint().port()), Peers.TLS, new Peers.Recorder())
        .get(30, TimeUnit.SECONDS));
    assertTrue(e.getCause().getMessage().contains("claims to be"), e.getCause().getMessage());
  }

  @Test
  void primaryRefusesAServerCertificateForAnotherHost() throws Exception {
    Transport.Listener l = transport("elsewhere.test",
        Certificates.issue(CA, "elsewhere.test", Duration.ofDays(1)), CA.certificate())
        .listen(Peers.any(), AuthenticationType.CERTIFICATE, c -> {
          accepted.incrementAndGet();
          return new Peers.Recorder();
        });
    NettyTransport primary = transport("primary.test",
        Certificates.issue(CA, "primary.test", Duration.ofDays(1)), CA.certificate());
    ExecutionException e = assertThrows(ExecutionException.class, () -> primary.connect(
        new Endpoint("localhost", l.endpoint().port()), Peers.TLS, new Peers.Recorder())
        .get(30, TimeUnit.SECONDS));
    assertTrue(e.getCause().getMessage().contains("not 'localhost' that this host connected to"),
        e.getCause().getMessage());
    assertEquals(0, accepted.get());
    // The primary refused the server: the server's decision carries the primary's reason.
    ConnectionDecision d = nextDecision();
    assertFalse(d.accepted(), d.describe());
    assertTrue(d.reason().contains("not 'localhost' that this host connected to"), d.reason());
  }

  @Test
  void primaryWithoutClientCertificateIsToldWhy() throws Exception {
    assertTrue(noCertificateReply("TLSv1.3").contains("no client certificate"));
  }

  @Test
  void tls12IsAcceptedToo() throws Exception {
    assertTrue(noCertificateReply("TLSv1.2").contains("no client certificate"));
  }

  /** Connects with the JDK and no certificate over {@code protocol}; the server's reason. */
  private String noCertificateReply(String protocol) throws Exception {
    SSLContext ssl = SSLContext.getInstance("TLS");
    ssl.init(null, new TrustManager[] {new X509TrustManager() {
      @Override
      public void checkClientTrusted(X509Certificate[] chain, String authType) {}

      @Override
      public void checkServerTrusted(X509Certificate[] chain, String authType) {}

      @Override
      public X509Certificate[] getAcceptedIssuers() {
        return new X509Certificate[0];
      }
    }}, new SecureRandom());
    try (SSLSocket s = (SSLSocket) ssl.getSocketFactory()
        .createSocket("127.0.0.1", listener.endpoint().port())) {
      s.setEnabledProtocols(new String[] {protocol});
      s.setSoTimeout(30_000);
      s.startHandshake();
      InputStream in = s.getInputStream();
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      byte[] buf = new byte[4096];
      int n;
      while ((n = in.read(buf)) > 0) {
        bytes.write(buf, 0, n);
      }
      EmbeddedChannel decode = new EmbeddedChannel(new FrameDecoder());
      decode.writeInbound(Unpooled.wrappedBuffer(bytes.toByteArray()));
      Frame.Error error = decode.readInbound();
      decode.finishAndReleaseAll();
      assertEquals(protocol, s.getSession().getProtocol());
      assertEquals(0, accepted.get());
      ConnectionDecision d = nextDecision();
      assertFalse(d.accepted(), d.describe());
      assertEquals(error.reason(), d.reason(), "the server logs what it told the primary");
      return error.reason();
    }
  }

  // -----------------------------------------------------------------------------------------
  // Certificates made by the openssl command line.

  private String openssl(String... args) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add("openssl");
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0,
        String.join(" ", cmd) + " failed: " + out);
    return out;
  }

  private void opensslHost(String name, String eku) throws Exception {
    Files.writeString(dir.resolve(name + ".ext"), "subjectAltName=DNS:" + name + "\n"
        + "extendedKeyUsage=" + eku + "\nbasicConstraints=CA:FALSE\n");
    openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key",
        "-subj", "/CN=" + name, "-out", name + ".csr");
    openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", name + ".ext", "-out", name + ".pem");
  }

  @Test
  void opensslCertificatesWorkAndAreCheckedAlike() throws Exception {
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", "ca.key", "-subj", "/CN=OpenSSL Test CA", "-days", "3", "-out", "ca.pem");
    opensslHost("replica.test", "serverAuth,clientAuth");
    opensslHost("primary.test", "serverAuth,clientAuth");
    opensslHost("noclient.test", "serverAuth");
    NettyTransport replica = builder().hostName("replica.test").workerThreads(1)
        .tls(TlsSettings.fromPemFiles(dir.resolve("replica.test.pem"),
            dir.resolve("replica.test.key"), dir.resolve("ca.pem"))).build();
    open.add(replica);
    AtomicInteger seen = new AtomicInteger();
    Transport.Listener l = replica.listen(Peers.any(), AuthenticationType.CERTIFICATE, c -> {
      seen.incrementAndGet();
      return new Peers.Recorder();
    });
    NettyTransport primary = builder().hostName("primary.test").workerThreads(1)
        .tls(TlsSettings.fromPemFiles(dir.resolve("primary.test.pem"),
            dir.resolve("primary.test.key"), dir.resolve("ca.pem"))).build();
    open.add(primary);
    // The replica's openssl certificate names only replica.test, so connect by that name's
    // address but check the name: connect to "localhost" fails, which the next test covers;
    // here the primary connects to the name on its certificate via a loopback-resolving alias.
    Connection c;
    try {
      c = primary.connect(new Endpoint("localhost", l.endpoint().port()), Peers.TLS,
          new Peers.Recorder()).get(30, TimeUnit.SECONDS);
      throw new AssertionError("connected to a server whose certificate does not name localhost");
    } catch (ExecutionException e) {
      assertTrue(e.getCause().getMessage().contains("names [replica.test]"),
          e.getCause().getMessage());
    }
    assertEquals(0, seen.get());
    NettyTransport noClient = builder().hostName("noclient.test").workerThreads(1)
        .tls(TlsSettings.fromPemFiles(dir.resolve("noclient.test.pem"),
            dir.resolve("noclient.test.key"), dir.resolve("ca.pem"))).build();
    open.add(noClient);
    // Against our server with a certificate that names localhost and trusts the openssl CA.
    TlsCredentials server = Certificates.issue(CA, List.of("replica.test", "localhost"),
        Duration.ofDays(1));
    NettyTransport mixed = builder().hostName("replica.test").workerThreads(1)
        .tls(TlsSettings.of(server, List.of(CA.certificate(),
            TlsCredentials.readCertificatesPem(dir.resolve("ca.pem")).get(0)))).build();
    open.add(mixed);
    Transport.Listener ml = mixed.listen(Peers.any(), AuthenticationType.CERTIFICATE, cc -> {
      seen.incrementAndGet();
      return new Peers.Recorder();
    });
    NettyTransport primaryTrustingBoth = builder().hostName("primary.test")
        .workerThreads(1).tls(TlsSettings.of(
            TlsCredentials.readPem(dir.resolve("primary.test.pem"), dir.resolve("primary.test.key")),
            List.of(CA.certificate()))).build();
    open.add(primaryTrustingBoth);
    c = primaryTrustingBoth.connect(new Endpoint("localhost", ml.endpoint().port()), Peers.TLS,
        new Peers.Recorder()).get(30, TimeUnit.SECONDS);
    assertEquals("replica.test", c.peerIdentity());
    c.close();
    assertEquals(1, seen.get());
    NettyTransport noClientTrusting = builder().hostName("noclient.test")
        .workerThreads(1).tls(TlsSettings.of(
            TlsCredentials.readPem(dir.resolve("noclient.test.pem"),
                dir.resolve("noclient.test.key")), List.of(CA.certificate()))).build();
    open.add(noClientTrusting);
    ExecutionException e = assertThrows(ExecutionException.class, () -> noClientTrusting.connect(
        new Endpoint("localhost", ml.endpoint().port()), Peers.TLS, new Peers.Recorder())
        .get(30, TimeUnit.SECONDS));
    assertTrue(e.getCause().getMessage().contains(
        "certificate has no clientAuth extended key usage"), e.getCause().getMessage());
    assertEquals(1, seen.get());
  }

  @Test
  void pemAndPkcs12RoundTrip() throws Exception {
    TlsCredentials host = Certificates.issue(CA, "primary.test", Duration.ofDays(1));
    host.writePem(dir.resolve("h.pem"), dir.resolve("h.key"));
    TlsCredentials back = TlsCredentials.readPem(dir.resolve("h.pem"), dir.resolve("h.key"));
    assertEquals(host.chain(), back.chain());
    assertEquals(((java.security.interfaces.ECPrivateKey) host.privateKey()).getS(),
        ((java.security.interfaces.ECPrivateKey) back.privateKey()).getS(), "the same key");
    host.writePkcs12(dir.resolve("h.p12"), "pw".toCharArray());
    TlsCredentials p12 = TlsCredentials.readPkcs12(dir.resolve("h.p12"), "pw".toCharArray());
    assertEquals(host.chain(), p12.chain());
    openssl("x509", "-in", "h.pem", "-noout", "-text");
    // The public point travels with the key: GnuTLS (QEMU's TLS) refuses an EC key without it.
    String key = openssl("pkey", "-in", "h.key", "-noout", "-text");
    assertTrue(key.contains("pub:"), key);
    openssl("pkcs12", "-in", "h.p12", "-passin", "pass:pw", "-nokeys", "-out", "h12.pem");
  }
}
