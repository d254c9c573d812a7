package io.replica.transport.netty;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.handler.ssl.OpenSsl;
import io.replica.api.AuthenticationType;
import io.replica.spi.transport.Connection;
import io.replica.spi.transport.Endpoint;
import io.replica.spi.transport.Message;
import io.replica.spi.transport.Transport;
import io.replica.transport.netty.internal.handler.NettyConnection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Which TLS implementation a transport runs on: BoringSSL from netty-tcnative when it loads, the
 * JDK's when asked, and the two talk to each other.
 */
class TlsImplementationTest {
  static final TlsCredentials CA = NettyTransportTest.CA;

  private final List<Transport> open = new ArrayList<>();

  @AfterEach
  void closeAll() {
    open.forEach(Transport::close);
  }

  private NettyTransport tls(NettyTransport.Builder builder, String host) {
    NettyTransport t = builder.hostName(host).workerThreads(1)
        .tls(TlsSettings.of(Certificates.issue(CA, List.of(host, "localhost"),
            Duration.ofDays(1)), List.of(CA.certificate())))
        .build();
    open.add(t);
    return t;
  }

  @Test
  void boringSslLoadsAndIsTheDefault() {
    // If this fails, the other TLS tests silently cover the JDK's TLS only.
    assertTrue(OpenSsl.isAvailable(), () -> "netty-tcnative did not load: "
        + OpenSsl.unavailabilityCause());
    assertTrue(OpenSsl.versionString().startsWith("BoringSSL"), OpenSsl.versionString());
    assertEquals(OpenSsl.versionString(),
        tls(NettyTransport.builder(), "primary.test").tlsImplementation());
  }

  @Test
  void jdkTlsIsUsedWhenAsked() {
    assertEquals("JDK", tls(NettyTransport.builder().jdkTls(), "primary.test")
        .tlsImplementation());
    NettyTransport plain = NettyTransport.builder().hostName("plain.test").plaintext()
        .workerThreads(1).build();
    open.add(plain);
    assertEquals("none", plain.tlsImplementation());
  }

  @Test
  void boringSslPrimaryAndJdkReplicaServerReplicate() throws Exception {
    exchange(tls(NettyTransport.builder(), "primary.test"),
        tls(NettyTransport.builder().jdkTls(), "replica.test"));
  }

  @Test
  void jdkPrimaryAndBoringSslReplicaServerReplicate() throws Exception {
    exchange(tls(NettyTransport.builder().jdkTls(), "primary.test"),
        tls(NettyTransport.builder(), "replica.test"));
  }

  private static void exchange(NettyTransport primary, NettyTransport replica)
      throws Exception {
    Peers.Recorder server = new Peers.Recorder();
    Transport.Listener l = replica.listen(Peers.any(), AuthenticationType.CERTIFICATE, c -> {
      assertEquals("primary.test", c.peerIdentity());
      return server;
    });
    Connection c = primary.connect(new Endpoint("localhost", l.endpoint().port()),
        Peers.TLS_ZSTD, new Peers.Recorder()).get(30, TimeUnit.SECONDS);
    assertEquals("replica.test", c.peerIdentity());
    String security = ((NettyConnection) c).security();
    assertTrue(security.startsWith("TLSv1.3 "), security);
    // More than one TLS record, so that both engines split and join records of the other.
    byte[] block = new byte[1 << 20];
    new SplittableRandom(4).nextBytes(block);
    for (int i = 1; i <= 4; i++) {
      c.send(new Message.BlockData(NettyTransportTest.VM, 1, i, NettyTransportTest.DISK,
          (long) i << 20, block));
    }
    for (int i = 1; i <= 4; i++) {
      Message.BlockData b = (Message.BlockData) server.next();
      assertEquals(i, b.sequence());
      assertArrayEquals(block, b.data());
    }
    c.close();
  }
}
