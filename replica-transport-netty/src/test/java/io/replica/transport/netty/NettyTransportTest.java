package io.replica.transport.netty;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replica.api.AuthenticationType;
import io.replica.api.DiskId;
import io.replica.api.VmId;
import io.replica.spi.transport.ConnectOptions;
import io.replica.spi.transport.Connection;
import io.replica.spi.transport.Message;
import io.replica.spi.transport.Transport;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class NettyTransportTest {
  static final TlsCredentials CA = Certificates.newCa("Test CA", Duration.ofDays(2));
  static final VmId VM = new VmId(new UUID(1, 1));
  static final DiskId DISK = new DiskId(new UUID(2, 2));

  private final List<Transport> open = new java.util.ArrayList<>();

  @AfterEach
  void closeAll() {
    for (Transport t : open) {
      t.close();
    }
  }

  NettyTransport plain(String host) {
    NettyTransport t = NettyTransport.builder().hostName(host).plaintext().workerThreads(1)
        .build();
    open.add(t);
    return t;
  }

  NettyTransport tls(String host) {
    NettyTransport t = NettyTransport.builder().hostName(host).workerThreads(1)
        .tls(TlsSettings.of(Certificates.issue(CA, List.of(host, "localhost"), Duration.ofDays(1)),
            List.of(CA.certificate())))
        .build();
    open.add(t);
    return t;
  }

  void exchange(Transport primary, Transport replica, ConnectOptions options, String serverName)
      throws Exception {
    Peers.Recorder server = new Peers.Recorder();
    AtomicReference<Connection> accepted = new AtomicReference<>();
    Transport.Listener l = replica.listen(Peers.any(), options.authentication(), c -> {
      accepted.set(c);
      return server;
    });
    Peers.Recorder client = new Peers.Recorder();
    Connection c = primary.connect(
        new io.replica.spi.transport.Endpoint(serverName, l.endpoint().port()), options, client)
        .get(30, TimeUnit.SECONDS);
    assertEquals("replica.test", c.peerIdentity());
    String security = ((io.replica.transport.netty.internal.handler.NettyConnection) c).security();
    assertTrue(security.startsWith(serverName.equals("localhost") ? "TLSv1.3" : "plain"),
        security);
    byte[] block = new byte[256 * 1024];
    for (int i = 0; i < block.length; i += 4096) {
      block[i] = (byte) i;
    }
    c.send(new Message.CycleBegin(VM, 1, 0, java.time.Instant.EPOCH, null, false));
    for (int i = 1; i <= 20; i++) {
      c.send(new Message.BlockData(VM, 1, i, DISK, (long) i * block.length, block));
    }
    c.send(new Message.CycleEnd(VM, 1, 20, 20L * block.length, 0)).get(30, TimeUnit.SECONDS);
    assertEquals(new Message.CycleBegin(VM, 1, 0, java.time.Instant.EPOCH, null, false), server.next());
    for (int i = 1; i <= 20; i++) {
      Message.BlockData b = (Message.BlockData) server.next();
      assertEquals(i, b.sequence());
      assertArrayEquals(block, b.data());
    }
    assertTrue(server.next() instanceof Message.CycleEnd);
    assertEquals("primary.test", accepted.get().peerIdentity());
    assertTrue(server.threads.stream().noneMatch(n -> n.contains("replica-netty-replica.test-")),
        "callbacks run off the event loop: " + server.threads);
    accepted.get().send(new Message.CycleAck(VM, 1));
    assertEquals(new Message.CycleAck(VM, 1), client.next());
    c.close();
    assertFalse(c.isOpen());
    client.awaitClosed();
    server.awaitClosed();
    assertNull(client.closes.get(0));
    assertNull(server.closes.get(0));
    assertEquals(1, client.closes.size());
    l.close();
  }

  @Test
  void plainConnectionCarriesMessagesBothWays() throws Exception {
    exchange(plain("primary.test"), plain("replica.test"),
        new ConnectOptions(AuthenticationType.CERTIFICATE, false), "127.0.0.1");
  }

  @Test
  void tlsConnectionCarriesMessagesWithCompression() throws Exception {
    exchange(tls("primary.test"), tls("replica.test"), Peers.TLS_ZSTD, "localhost");
  }

  /**
   * The heartbeat of the liveness test. The hello exchange must also finish within three of them,
   * so they are long enough for a cold JVM on a busy machine (at 250 ms a connect failed there).
   */
  static final Duration HEARTBEAT = Duration.ofSeconds(1);

  @Test
  void heartbeatsKeepAnIdleConnectionAliveAndASilentPeerIsPresumedDead() throws Exception {
    NettyTransport a = keep(NettyTransport.builder().hostName("primary.test").plaintext()
        .workerThreads(1).heartbeatInterval(HEARTBEAT).build());
    NettyTransport b = keep(NettyTransport.builder().hostName("replica.test").plaintext()
        .workerThreads(1).heartbeatInterval(HEARTBEAT).build());
    Peers.Recorder server = new Peers.Recorder();
    Transport.Listener l = b.listen(Peers.any(), AuthenticationType.CERTIFICATE, c -> server);
    Peers.Recorder client = new Peers.Recorder();
    Connection c = a.connect(l.endpoint(), Peers.TLS, client).get(30, TimeUnit.SECONDS);
    // Five heartbeats from the replica side: longer than the three intervals of silence that
    // presume a peer dead, so only the heartbeats kept the connection open.
    var netty = (io.replica.transport.netty.internal.handler.NettyConnection) c;
    new Await().until("five heartbeats on an idle connection", Duration.ofSeconds(60),
        () -> netty.heartbeatsReceived() >= 5 || !c.isOpen(),
        () -> "heartbeats received " + netty.heartbeatsReceived() + ", closes " + client.closes);
    assertTrue(netty.heartbeatsReceived() >= 5, "heartbeats received: " + netty.heartbeatsReceived());
    assertTrue(c.isOpen(), "heartbeats kept the idle connection open: " + client.closes);
    c.send(new Message.CycleAck(VM, 1));
    assertEquals(new Message.CycleAck(VM, 1), server.next());

    try (java.net.ServerSocket silent = new java.net.ServerSocket(0, 1,
        java.net.InetAddress.getLoopbackAddress())) {
      var f = a.connect(new io.replica.spi.transport.Endpoint("127.0.0.1", silent.getLocalPort()),
          Peers.TLS, new Peers.Recorder());
      var e = assertThrows(java.util.concurrent.ExecutionException.class,
          () -> f.get(30, TimeUnit.SECONDS));
      assertTrue(e.getCause().getMessage().contains("presumed dead"), e.getCause().toString());
    }
  }

  private NettyTransport keep(NettyTransport t) {
    open.add(t);
    return t;
  }

  @Test
  void tlsTransportRefusesKerberos() {
    NettyTransport t = tls("primary.test");
    assertEquals(java.util.Set.of(AuthenticationType.CERTIFICATE), t.authenticationTypes());
    assertThrows(UnsupportedOperationException.class,
        () -> t.listen(Peers.any(), AuthenticationType.KERBEROS, c -> new Peers.Recorder()));
  }

  @Test
  void connectToNothingFailsWithTheEndpoint() throws Exception {
    NettyTransport t = plain("primary.test");
    Transport.Listener l = plain("x.test").listen(Peers.any(), AuthenticationType.CERTIFICATE,
        c -> new Peers.Recorder());
    int port = l.endpoint().port();
    l.close();
    var f = t.connect(new io.replica.spi.transport.Endpoint("127.0.0.1", port),
        Peers.TLS, new Peers.Recorder());
    var e = assertThrows(java.util.concurrent.ExecutionException.class,
        () -> f.get(30, TimeUnit.SECONDS));
    assertTrue(e.getCause().getMessage().contains("127.0.0.1:" + port), e.getCause().toString());
    for (Throwable x = e.getCause(); x != null; x = x.getCause()) {
      assertFalse(x.getClass().getName().startsWith("io.netty."),
          "a Netty type left the module: " + x.getClass().getName());
    }
  }
}
