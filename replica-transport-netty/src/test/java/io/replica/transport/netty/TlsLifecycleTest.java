package io.replica.transport.netty;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replica.api.AuthenticationType;
import io.replica.spi.transport.Connection;
import io.replica.spi.transport.Endpoint;
import io.replica.spi.transport.Message;
import io.replica.spi.transport.Transport;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Certificates over time: expiry warnings, renewal without restart; and bandwidth limits. */
class TlsLifecycleTest {
  static final TlsCredentials CA = NettyTransportTest.CA;

  @TempDir Path dir;
  private final List<Transport> open = new ArrayList<>();

  @AfterEach
  void closeAll() {
    open.forEach(Transport::close);
  }

  /** Builds the TLS transports; {@link JdkTlsLifecycleTest} runs these tests on the JDK's TLS. */
  NettyTransport.Builder builder() {
    return NettyTransport.builder();
  }

  private <T extends Transport> T keep(T t) {
    open.add(t);
    return t;
  }

  @Test
  void theWarningSaysDaysOrHoursLeft() {
    java.time.Instant end = java.time.Instant.parse("2027-01-01T00:00:00Z");
    assertTrue(new CertificateExpiry("h", "CN=h", end, Duration.ofDays(12).plusHours(3)).describe()
        .contains(", in 12 days;"));
    assertTrue(new CertificateExpiry("h", "CN=h", end, Duration.ofHours(23).plusMinutes(59)).describe()
        .contains(", in 23 hours;"), "not 'in 0 days'");
    assertTrue(new CertificateExpiry("h", "CN=h", end, Duration.ofHours(-1)).describe().contains("expired on"));
  }

  @Test
  void certificateThatExpiresSoonRaisesAWarning() {
    List<CertificateExpiry> warnings = new CopyOnWriteArrayList<>();
    TlsCredentials soon = Certificates.issue(CA, "primary.test", Duration.ofDays(5));
    keep(builder().hostName("primary.test").workerThreads(1)
        .tls(TlsSettings.of(soon, List.of(CA.certificate())))
        .certificateExpiryWarning(Duration.ofDays(30), warnings::add).build());
    assertEquals(1, warnings.size(), "one warning at start");
    CertificateExpiry w = warnings.get(0);
    assertEquals("primary.test", w.hostName());
    assertEquals(soon.certificate().getNotAfter().toInstant(), w.notAfter());
    assertTrue(w.remaining().compareTo(Duration.ofDays(5)) <= 0, w.toString());
    assertTrue(w.describe().contains("renew it"), w.describe());

    List<CertificateExpiry> none = new CopyOnWriteArrayList<>();
    keep(builder().hostName("replica.test").workerThreads(1)
        .tls(TlsSettings.of(Certificates.issue(CA, "replica.test", Duration.ofDays(365)),
            List.of(CA.certificate())))
        .certificateExpiryWarning(Duration.ofDays(30), none::add).build());
    assertTrue(none.isEmpty(), "no warning for a certificate valid for a year: " + none);
  }

  @Test
  void replacedCertificateFileIsUsedWithoutRestart() throws Exception {
    Path cert = dir.resolve("replica.pem");
    Path key = dir.resolve("replica.key");
    Path trust = dir.resolve("ca.pem");
    TlsCredentials.writeCertificatesPem(trust, List.of(CA.certificate()));
    Instant now = Instant.now();
    Certificates.make(CA, "replica.test", List.of("replica.test", "localhost"),
        now.minus(Duration.ofDays(10)), now.minus(Duration.ofDays(1)), true, true, false)
        .writePem(cert, key);
    List<CertificateExpiry> warnings = new CopyOnWriteArrayList<>();
    NettyTransport server = keep(builder().hostName("replica.test")
        .workerThreads(1).tls(TlsSettings.fromPemFiles(cert, key, trust))
        .certificateExpiryWarning(Duration.ofDays(30), warnings::add).build());
    assertEquals(1, warnings.size());
    assertTrue(warnings.get(0).remaining().isNegative(), "already expired");
    Transport.Listener l = server.listen(Peers.any(), AuthenticationType.CERTIFICATE,
        c -> new Peers.Recorder());
    NettyTransport primary = keep(builder().hostName("primary.test")
        .workerThreads(1).tls(TlsSettings.of(Certificates.issue(CA, "primary.test",
            Duration.ofDays(1)), List.of(CA.certificate()))).build());
    Endpoint where = new Endpoint("localhost", l.endpoint().port());
    ExecutionException e = assertThrows(ExecutionException.class, () -> primary.connect(where,
        Peers.TLS, new Peers.Recorder()).get(30, TimeUnit.SECONDS));
    assertTrue(e.getCause().getMessage().contains("expired on"), e.getCause().getMessage());

    // The operator renews the certificate in place; no restart.
    Certificates.issue(CA, List.of("replica.test", "localhost"), Duration.ofDays(90))
        .writePem(cert, key);
    Connection c = primary.connect(where, Peers.TLS, new Peers.Recorder())
        .get(30, TimeUnit.SECONDS);
    assertEquals("replica.test", c.peerIdentity());
    c.close();
    assertEquals(1, warnings.size(), "a 90-day certificate raises no new warning");
  }

  @Test
  void bandwidthLimitsKeepEveryMessageIntact() throws Exception {
    NettyTransport replica = keep(NettyTransport.builder().hostName("replica.test")
        .workerThreads(1).plaintext().build());
    Peers.Recorder server = new Peers.Recorder();
    Transport.Listener l = replica.listen(Peers.any(), AuthenticationType.CERTIFICATE,
        c -> server);
    NettyTransport primary = keep(NettyTransport.builder().hostName("primary.test")
        .workerThreads(1).plaintext().bandwidthBytesPerSecondMax(64L << 20)
        .connectionBandwidthBytesPerSecondMax(32L << 20).build());
    Connection c = primary.connect(l.endpoint(), Peers.TLS, new Peers.Recorder())
        .get(30, TimeUnit.SECONDS);
    byte[] block = new byte[1 << 20];
    new SplittableRandom(3).nextBytes(block);
    for (int i = 1; i <= 8; i++) {
      c.send(new Message.BlockData(NettyTransportTest.VM, 1, i, NettyTransportTest.DISK,
          (long) i << 20, block));
    }
    for (int i = 1; i <= 8; i++) {
      Message.BlockData b = (Message.BlockData) server.next();
      assertEquals(i, b.sequence());
      assertArrayEquals(block, b.data());
    }
    c.close();
  }

  @Test
  void negativeBandwidthIsRefused() {
    assertThrows(IllegalArgumentException.class,
        () -> NettyTransport.builder().bandwidthBytesPerSecondMax(-1));
    assertThrows(IllegalArgumentException.class,
        () -> NettyTransport.builder().connectionBandwidthBytesPerSecondMax(-1));
  }
}
