package io.replica.transport.netty;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replica.api.AuthenticationType;
import io.replica.spi.transport.ConnectOptions;
import io.replica.spi.transport.Connection;
import io.replica.spi.transport.Endpoint;
import io.replica.spi.transport.Message;
import io.replica.spi.transport.Transport;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Kerberos SASL/GSSAPI against an embedded KDC: mutual authentication, the identity from the host
 * principal, optional integrity and confidentiality, and refusals with reasons on both sides.
 */
class KerberosTest {
  static final ConnectOptions KERBEROS = new ConnectOptions(AuthenticationType.KERBEROS, false);

  private final List<Transport> open = new ArrayList<>();
  private final AtomicInteger accepted = new AtomicInteger();
  /** What the replica servers of a test decided, in order. */
  private final LinkedBlockingQueue<ConnectionDecision> decisions = new LinkedBlockingQueue<>();

  @AfterEach
  void closeAll() {
    open.forEach(Transport::close);
  }

  private NettyTransport transport(String host, KerberosSettings settings) {
    NettyTransport t = NettyTransport.builder().hostName(host).workerThreads(1)
        .kerberos(settings).resolver(TestKdc::loopback).connectionListener(decisions::add)
        .build();
    open.add(t);
    return t;
  }

  /** The next connection decision of a replica server; made before the primary hears it. */
  private ConnectionDecision nextDecision() throws InterruptedException {
    ConnectionDecision d = decisions.poll(30, TimeUnit.SECONDS);
    if (d == null) {
      throw new AssertionError("no replica server decided about a connection within 30 s");
    }
    return d;
  }

  /** The replica server refused the last connection, saying {@code reason}. */
  private void assertRefusedByServer(String reason) throws InterruptedException {
    ConnectionDecision d = nextDecision();
    assertFalse(d.accepted(), d.describe());
    assertTrue(d.reason().contains(reason), "expected '" + reason + "' in: " + d.reason());
    assertTrue(d.describe().startsWith("rejected connection from 127.0.0.1:"), d.describe());
  }

  private Transport.Listener server(KerberosSettings settings, Peers.Recorder recorder,
      AtomicReference<Connection> seen) throws Exception {
    return transport("replica.krb.test", settings).listen(Peers.any(),
        AuthenticationType.KERBEROS, c -> {
          accepted.incrementAndGet();
          seen.set(c);
          return recorder;
        });
  }

  private void roundTrip(KerberosSettings serverSettings, KerberosSettings clientSettings,
      String qop) throws Exception {
    Peers.Recorder server = new Peers.Recorder();
    AtomicReference<Connection> seen = new AtomicReference<>();
    Transport.Listener l = server(serverSettings, server, seen);
    Connection c = transport("primary.krb.test", clientSettings)
        .connect(new Endpoint("replica.krb.test", l.endpoint().port()), KERBEROS,
            new Peers.Recorder())
        .get(30, TimeUnit.SECONDS);
    assertEquals("replica.krb.test", c.peerIdentity());
    assertEquals("Kerberos " + qop,
        ((io.replica.transport.netty.internal.handler.NettyConnection) c).security());
    byte[] block = new byte[300_000];
    new SplittableRandom(1).nextBytes(block);
    c.send(new Message.BlockData(NettyTransportTest.VM, 1, 1, NettyTransportTest.DISK, 0, block));
    c.send(new Message.CycleAck(NettyTransportTest.VM, 2));
    assertArrayEquals(block, ((Message.BlockData) server.next()).data());
    assertEquals(new Message.CycleAck(NettyTransportTest.VM, 2), server.next());
    assertEquals("primary.krb.test", seen.get().peerIdentity());
    ConnectionDecision d = nextDecision();
    assertTrue(d.accepted(), d.describe());
    assertEquals("primary.krb.test", d.identity());
    assertTrue(d.reason().contains("Kerberos " + qop), d.reason());
    c.close();
  }

  @Test
  void hostPrincipalsAuthenticateEachOther() throws Exception {
    roundTrip(TestKdc.settings("replica.krb.test"), TestKdc.settings("primary.krb.test"),
        "auth");
  }

  @Test
  void confidentialityAndIntegrityWrapEveryFrame() throws Exception {
    Set<KerberosSettings.Protection> conf = EnumSet.of(KerberosSettings.Protection.CONFIDENTIALITY);
    roundTrip(TestKdc.settings("replica.krb.test").protections(conf),
        TestKdc.settings("primary.krb.test").protections(conf), "auth-conf");
    Set<KerberosSettings.Protection> integrity = EnumSet.of(KerberosSettings.Protection.INTEGRITY);
    roundTrip(TestKdc.settings("replica.krb.test").protections(integrity),
        TestKdc.settings("primary.krb.test").protections(integrity), "auth-int");
  }

  @Test
  void principalOfAnotherRealmIsRefused() throws Exception {
    Transport.Listener l = server(TestKdc.settings("replica.krb.test")
        .acceptedRealms(Set.of("CORP.EXAMPLE")), new Peers.Recorder(), new AtomicReference<>());
    ExecutionException e = assertThrows(ExecutionException.class, () ->
        transport("primary.krb.test", TestKdc.settings("primary.krb.test"))
            .connect(new Endpoint("replica.krb.test", l.endpoint().port()), KERBEROS,
                new Peers.Recorder())
            .get(30, TimeUnit.SECONDS));
    assertTrue(e.getCause().getMessage().contains("is from realm 'TEST.REALM'"),
        e.getCause().getMessage());
    assertEquals(0, accepted.get());
    assertRefusedByServer("is from realm 'TEST.REALM'; this replica server accepts primaries of"
        + " [CORP.EXAMPLE] only");
  }

  @Test
  void principalForAnotherHostIsRefused() throws Exception {
    Transport.Listener l = server(TestKdc.settings("replica.krb.test"), new Peers.Recorder(),
        new AtomicReference<>());
    // Claims to be primary.krb.test but holds the keys of intruder.krb.test.
    NettyTransport liar = NettyTransport.builder().hostName("primary.krb.test").workerThreads(1)
        .kerberos(TestKdc.settings("intruder.krb.test")).resolver(TestKdc::loopback).build();
    open.add(liar);
    ExecutionException e = assertThrows(ExecutionException.class, () -> liar.connect(
        new Endpoint("replica.krb.test", l.endpoint().port()), KERBEROS, new Peers.Recorder())
        .get(30, TimeUnit.SECONDS));
    assertTrue(e.getCause().getMessage().contains("not the host 'primary.krb.test'"),
        e.getCause().getMessage());
    assertEquals(0, accepted.get());
    assertRefusedByServer("not the host 'primary.krb.test'");
  }

  @Test
  void badTicketIsRefusedWithAReason() throws Exception {
    KerberosSettings stale = TestKdc.settings("stale.krb.test");
    NettyTransport server = transport("stale.krb.test", stale); // logs in with the old key
    TestKdc.get().rekey("stale.krb.test"); // tickets for it now use a key the server lacks
    Transport.Listener l = server.listen(Peers.any(), AuthenticationType.KERBEROS, c -> {
      accepted.incrementAndGet();
      return new Peers.Recorder();
    });
    ExecutionException e = assertThrows(ExecutionException.class, () ->
        transport("primary.krb.test", TestKdc.settings("primary.krb.test"))
            .connect(new Endpoint("stale.krb.test", l.endpoint().port()), KERBEROS,
                new Peers.Recorder())
            .get(30, TimeUnit.SECONDS));
    assertTrue(e.getCause().getMessage().contains("bad ticket"), e.getCause().getMessage());
    assertEquals(0, accepted.get());
    assertRefusedByServer("bad ticket");
  }

  @Test
  void kerberosOnlyTransportRefusesCertificates() throws Exception {
    NettyTransport t = transport("replica.krb.test", TestKdc.settings("replica.krb.test"));
    assertEquals(Set.of(AuthenticationType.KERBEROS), t.authenticationTypes());
    assertThrows(UnsupportedOperationException.class, () -> t.listen(Peers.any(),
        AuthenticationType.CERTIFICATE, c -> new Peers.Recorder()));
  }

  /**
   * A principal whose instance is the primary's host name but whose service is not {@code host}
   * (a user's, a web server's) proves a person or a service, not the host: refused, and the
   * refusal names the principal.
   */
  @Test
  void onlyHostPrincipalsIdentifyAHost() throws Exception {
    Transport.Listener l = server(TestKdc.settings("replica.krb.test"), new Peers.Recorder(),
        new AtomicReference<>());
    for (String name : new String[] {"alice/primary.krb.test", "HTTP/primary.krb.test",
        "HOST/primary.krb.test"}) {
      String principal = name + "@" + TestKdc.REALM;
      NettyTransport impostor = NettyTransport.builder().hostName("primary.krb.test")
          .workerThreads(1).resolver(TestKdc::loopback)
          .kerberos(KerberosSettings.fromKeytab(TestKdc.get().keytabOf(name), principal))
          .build();
      open.add(impostor);
      ExecutionException e = assertThrows(ExecutionException.class, () -> impostor.connect(
          new Endpoint("replica.krb.test", l.endpoint().port()), KERBEROS, new Peers.Recorder())
          .get(30, TimeUnit.SECONDS), principal);
      String expected = "Kerberos principal '" + principal + "' is not a host principal: only"
          + " host/<fqdn>@REALM identifies a primary";
      assertTrue(e.getCause().getMessage().contains(expected), e.getCause().getMessage());
      assertRefusedByServer(expected);
    }
    assertEquals(0, accepted.get());
  }

  /** The same rule, for principals the embedded KDC cannot issue (other realms, odd forms). */
  @Test
  void theHostRuleNamesEachRefusedPrincipal() throws Exception {
    Set<String> realms = Set.of("REPLICA.TEST");
    assertEquals("hv1.replica.test", io.replica.transport.netty.internal.auth
        .KerberosAuthenticator.hostOf("host/hv1.replica.test@REPLICA.TEST", "host", realms,
            "HV1.replica.test"));
    assertEquals("hv1.replica.test", io.replica.transport.netty.internal.auth
        .KerberosAuthenticator.hostOf("replica/hv1.replica.test@REPLICA.TEST", "replica", realms,
            "hv1.replica.test"));
    String[][] refused = {
        {"alice/hv1.replica.test@REPLICA.TEST", "'alice/hv1.replica.test@REPLICA.TEST' is not a"
            + " host principal"},
        {"HTTP/hv1.replica.test@REPLICA.TEST", "'HTTP/hv1.replica.test@REPLICA.TEST' is not a"
            + " host principal"},
        {"host/hv1.replica.test@OTHER.TEST", "'host/hv1.replica.test@OTHER.TEST' is from realm"
            + " 'OTHER.TEST'"},
        {"hv1.replica.test@REPLICA.TEST", "'hv1.replica.test@REPLICA.TEST' is not a host"
            + " principal"},
        {"host/hv1.replica.test/x@REPLICA.TEST", "'host/hv1.replica.test/x@REPLICA.TEST' is not"
            + " a host principal"},
        {"host/@REPLICA.TEST", "'host/@REPLICA.TEST' is not a host principal"},
        {"host/hv2.replica.test@REPLICA.TEST", "names host 'hv2.replica.test', not the host"
            + " 'hv1.replica.test'"},
        {"alice\nINFO forged/hv1.replica.test@REPLICA.TEST", "'alice\\nINFO"
            + " forged/hv1.replica.test@REPLICA.TEST' is not a host principal"},
        {"host/hv1.replica.test\r\u2028@REPLICA.TEST", "names host"
            + " 'hv1.replica.test\\r\\u2028', not the host 'hv1.replica.test'"},
    };
    for (String[] c : refused) {
      io.replica.transport.netty.internal.handler.PeerAuthenticator.Rejection r = assertThrows(
          io.replica.transport.netty.internal.handler.PeerAuthenticator.Rejection.class,
          () -> io.replica.transport.netty.internal.auth.KerberosAuthenticator.hostOf(c[0],
              "host", realms, "hv1.replica.test"), c[0]);
      assertTrue(r.getMessage().contains(c[1]), r.getMessage());
      assertFalse(r.getMessage().contains("\n") || r.getMessage().contains("\r")
          || r.getMessage().contains("\u2028"), "no raw line break: " + r.getMessage());
    }
  }
}
