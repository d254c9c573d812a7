package io.replica.testkit.memory;

import static io.replica.testkit.memory.NetworkFixture.KERBEROS;
import static io.replica.testkit.memory.NetworkFixture.ack;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replica.api.AuthenticationType;
import io.replica.spi.transport.ConnectOptions;
import io.replica.spi.transport.Connection;
import io.replica.spi.transport.Endpoint;
import io.replica.spi.transport.Transport;
import io.replica.testkit.memory.NetworkFixture.Link;
import io.replica.testkit.memory.NetworkFixture.Recorder;
import java.io.IOException;
import java.net.BindException;
import java.net.ConnectException;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;

class InMemoryNetworkConnectTest {
  private final NetworkFixture f = new NetworkFixture();

  @Test
  void connectionsPresentTheHostNamesTheNetworkVouchesFor() {
    Transport upper = f.network.transport("HV1.Contoso.com");
    Recorder server = new Recorder("server");
    Transport.Listener listener = f.listen(f.replica, "replica", server);
    CompletableFuture<Connection> future =
        upper.connect(new Endpoint("REPLICA", listener.endpoint().port()), KERBEROS, new Recorder("c"));
    f.scheduler.runUntilIdle();

    Connection client = future.join();
    assertEquals("replica", client.peerIdentity());
    assertEquals(listener.endpoint(), client.remote());
    Connection accepted = server.connection();
    assertEquals("hv1.contoso.com", accepted.peerIdentity());
    assertEquals("hv1.contoso.com", accepted.remote().host());
    assertTrue(client.isOpen());
    assertTrue(accepted.isOpen());
    assertEquals(1, f.network.openConnectionCount());
  }

  @Test
  void connectCompletesOnTheSchedulerNeverInsideTheCall() {
    Transport.Listener listener = f.listen(f.replica, "replica", new Recorder("server"));
    CompletableFuture<Connection> future =
        f.primary.connect(listener.endpoint(), KERBEROS, new Recorder("client"));
    assertFalse(future.isDone());
    f.scheduler.runUntilIdle();
    assertTrue(future.isDone());
  }

  @Test
  void portZeroPicksAFreePortAndTakenEndpointsAreRefused() throws IOException {
    Transport.Listener first = f.listen(f.replica, "replica", new Recorder("a"));
    Transport.Listener second = f.listen(f.replica, "replica", new Recorder("b"));
    assertNotEquals(0, first.endpoint().port());
    assertNotEquals(first.endpoint(), second.endpoint());

    Transport.Listener fixed = f.replica.listen(
        new Endpoint("replica", 443), AuthenticationType.CERTIFICATE, c -> new Recorder("c"));
    assertEquals(new Endpoint("replica", 443), fixed.endpoint());
    BindException taken = assertThrows(BindException.class, () -> f.replica.listen(
        new Endpoint("replica", 443), AuthenticationType.KERBEROS, c -> new Recorder("d")));
    assertTrue(taken.getMessage().contains("replica:443"), taken.getMessage());

    fixed.close();
    f.replica.listen(new Endpoint("replica", 443), AuthenticationType.KERBEROS, c -> new Recorder("e"));
  }

  @Test
  void aTransportBindsOnlyEndpointsOfItsOwnHost() {
    BindException e = assertThrows(BindException.class, () -> f.replica.listen(
        new Endpoint("primary", 80), AuthenticationType.KERBEROS, c -> new Recorder("x")));
    assertTrue(e.getMessage().contains("primary:80"), e.getMessage());
  }

  @Test
  void connectingWhereNobodyListensFailsWithConnectExceptionNamingTheEndpoint() {
    CompletableFuture<Connection> future =
        f.primary.connect(new Endpoint("replica", 80), KERBEROS, new Recorder("client"));
    f.scheduler.runUntilIdle();
    Throwable cause = failure(future);
    assertInstanceOf(ConnectException.class, cause);
    assertTrue(cause.getMessage().contains("replica:80"), cause.getMessage());
  }

  @Test
  void transportsOfferBothAuthenticationTypesByDefaultAndNoCompression() {
    assertEquals(EnumSet.allOf(AuthenticationType.class), f.primary.authenticationTypes());
    assertFalse(f.primary.supportsCompression());
  }

  @Test
  void listeningWithAnUnconfiguredAuthenticationTypeIsUnsupported() {
    Transport kerberosOnly = f.network.transport("kdc-only", Set.of(AuthenticationType.KERBEROS));
    assertEquals(Set.of(AuthenticationType.KERBEROS), kerberosOnly.authenticationTypes());
    UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
        () -> kerberosOnly.listen(new Endpoint("kdc-only", 443), AuthenticationType.CERTIFICATE,
            c -> new Recorder("x")));
    assertTrue(e.getMessage().contains("CERTIFICATE"), e.getMessage());
  }

  @Test
  void connectingWithAnUnconfiguredAuthenticationTypeIsUnsupported() {
    Transport certOnly = f.network.transport("cert-only", Set.of(AuthenticationType.CERTIFICATE));
    Transport.Listener listener = f.listen(f.replica, "replica", new Recorder("server"));
    CompletableFuture<Connection> future =
        certOnly.connect(listener.endpoint(), KERBEROS, new Recorder("client"));
    f.scheduler.runUntilIdle();
    assertInstanceOf(UnsupportedOperationException.class, failure(future));
  }

  @Test
  void connectingWithAnAuthenticationTypeTheListenerDoesNotAcceptFails() {
    Transport.Listener listener = f.listen(f.replica, "replica", new Recorder("server"));
    CompletableFuture<Connection> future = f.primary.connect(listener.endpoint(),
        new ConnectOptions(AuthenticationType.CERTIFICATE, false), new Recorder("client"));
    f.scheduler.runUntilIdle();
    Throwable cause = failure(future);
    assertInstanceOf(IOException.class, cause);
    assertTrue(cause.getMessage().contains("does not accept CERTIFICATE"), cause.getMessage());
    assertEquals(0, f.network.openConnectionCount());
  }

  @Test
  void askingForCompressionIsUnsupported() {
    Transport.Listener listener = f.listen(f.replica, "replica", new Recorder("server"));
    CompletableFuture<Connection> future = f.primary.connect(listener.endpoint(),
        new ConnectOptions(AuthenticationType.KERBEROS, true), new Recorder("client"));
    f.scheduler.runUntilIdle();
    Throwable cause = failure(future);
    assertInstanceOf(UnsupportedOperationException.class, cause);
    assertTrue(cause.getMessage().contains("supportsCompression"), cause.getMessage());
  }

  @Test
  void aHostHasOneOpenTransportAndGetsANewOneAfterClosingIt() throws IOException {
    assertSame(f.primary, f.network.transport("PRIMARY"));
    assertThrows(IllegalStateException.class,
        () -> f.network.transport("primary", Set.of(AuthenticationType.KERBEROS)));
    f.primary.close();
    Transport restarted = f.network.transport("primary", Set.of(AuthenticationType.KERBEROS));
    assertNotSame(f.primary, restarted);
    assertThrows(IllegalArgumentException.class, () -> f.network.transport(" "));
    assertThrows(IllegalArgumentException.class, () -> f.network.transport("x", Set.of()));
  }

  @Test
  void aClosedTransportRefusesToListenAndToConnect() throws IOException {
    f.primary.close();
    assertThrows(IllegalStateException.class, () -> f.primary.listen(
        new Endpoint("primary", 0), AuthenticationType.KERBEROS, c -> new Recorder("x")));
    CompletableFuture<Connection> future =
        f.primary.connect(new Endpoint("replica", 80), KERBEROS, new Recorder("client"));
    f.scheduler.runUntilIdle();
    assertInstanceOf(IllegalStateException.class, failure(future));
  }

  @Test
  void nullArgumentsAreRejectedAtTheEdge() {
    assertThrows(NullPointerException.class, () -> new InMemoryNetwork(null));
    assertThrows(IllegalArgumentException.class, () -> new InMemoryNetwork(f.scheduler, 0));
    assertThrows(NullPointerException.class, () -> f.network.transport(null));
    assertThrows(NullPointerException.class,
        () -> f.replica.listen(null, AuthenticationType.KERBEROS, c -> new Recorder("x")));
    assertThrows(NullPointerException.class,
        () -> f.replica.listen(new Endpoint("replica", 0), null, c -> new Recorder("x")));
    assertThrows(NullPointerException.class,
        () -> f.replica.listen(new Endpoint("replica", 0), AuthenticationType.KERBEROS, null));
    assertThrows(NullPointerException.class,
        () -> f.primary.connect(null, KERBEROS, new Recorder("x")));
    assertThrows(NullPointerException.class,
        () -> f.primary.connect(new Endpoint("replica", 1), null, new Recorder("x")));
    assertThrows(NullPointerException.class,
        () -> f.primary.connect(new Endpoint("replica", 1), KERBEROS, null));
    Link link = f.connect();
    assertThrows(NullPointerException.class, () -> link.client().send(null));
  }

  @Test
  void closingAListenerStopsAcceptingAndClosesItsConnections() {
    Link link = f.connect();
    link.listener().close();
    link.listener().close(); // idempotent
    f.scheduler.runUntilIdle();
    assertEquals(1, link.clientSide().closedCount);
    assertNull(link.clientSide().closedCause);
    assertEquals(1, link.serverSide().closedCount);

    CompletableFuture<Connection> again =
        f.primary.connect(link.listener().endpoint(), KERBEROS, new Recorder("again"));
    f.scheduler.runUntilIdle();
    assertInstanceOf(ConnectException.class, failure(again));
  }

  @Test
  void closingATransportClosesItsListenersAndConnectionsBothWays() throws IOException {
    Link inbound = f.connect();
    Recorder server = new Recorder("primary-server");
    Transport.Listener primaryListener = f.listen(f.primary, "primary", server);
    Recorder client = new Recorder("replica-client");
    CompletableFuture<Connection> outbound =
        f.replica.connect(primaryListener.endpoint(), KERBEROS, client);
    f.scheduler.runUntilIdle();
    assertTrue(outbound.join().isOpen());

    f.replica.close();
    f.scheduler.runUntilIdle();
    assertEquals(List.of("closed orderly"), inbound.clientSide().events);
    assertEquals(List.of("closed orderly"), inbound.serverSide().events);
    assertEquals(List.of("closed orderly"), client.events);
    assertEquals(List.of("closed orderly"), server.events);
    assertEquals(0, f.network.openConnectionCount());
    primaryListener.close();
    f.network.checkNoLeaks();
  }

  @Test
  void leaksNameTheOpenListenersAndConnections() {
    Link link = f.connect();
    IllegalStateException leak = assertThrows(IllegalStateException.class, f.network::checkNoLeaks);
    assertTrue(leak.getMessage().contains("listener on " + link.listener().endpoint()),
        leak.getMessage());
    assertTrue(leak.getMessage().contains("connection primary -> replica"), leak.getMessage());
    link.client().close();
    link.listener().close();
    f.scheduler.runUntilIdle();
    f.network.checkNoLeaks();
  }

  @Test
  void aHandlerFactoryThatThrowsFailsTheConnectAndIsAViolation() throws IOException {
    Transport.Listener listener = f.replica.listen(
        new Endpoint("replica", 0), AuthenticationType.KERBEROS, c -> {
          throw new IllegalStateException("engine bug");
        });
    CompletableFuture<Connection> future =
        f.primary.connect(listener.endpoint(), KERBEROS, new Recorder("client"));
    f.scheduler.runUntilIdle();
    Throwable cause = failure(future);
    assertInstanceOf(IOException.class, cause);
    assertTrue(cause.getMessage().contains("engine bug"), cause.getMessage());
    assertEquals(1, f.network.violations().size());
    assertThrows(AssertionError.class, f.network::checkNoViolations);
  }

  @Test
  void theAcceptingSideMayGreetFromItsFactoryAndTheConnectorSeesTheFutureFirst() throws IOException {
    Recorder server = new Recorder("server");
    Transport.Listener listener = f.replica.listen(
        new Endpoint("replica", 0), AuthenticationType.KERBEROS, c -> {
          c.send(ack(7));
          return server;
        });
    Recorder client = new Recorder("client");
    List<String> order = new java.util.ArrayList<>();
    CompletableFuture<Connection> future = f.primary.connect(listener.endpoint(), KERBEROS,
        new io.replica.spi.transport.MessageHandler() {
          @Override
          public void onMessage(Connection connection, io.replica.spi.transport.Message message) {
            order.add("message");
          }

          @Override
          public void onClosed(Connection connection, Throwable cause) {
            order.add("closed");
          }
        });
    future.thenRun(() -> order.add("connected"));
    f.scheduler.runUntilIdle();
    assertNotNull(future.join());
    assertEquals(List.of("connected", "message"), order);
    assertTrue(client.events.isEmpty());
  }

  static Throwable failure(CompletableFuture<?> future) {
    assertTrue(future.isCompletedExceptionally(), "expected a failed future, got " + future);
    CompletionException e = assertThrows(CompletionException.class, future::join);
    return e.getCause();
  }
}
