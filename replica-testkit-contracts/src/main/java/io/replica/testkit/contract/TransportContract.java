package io.replica.testkit.contract;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.replica.api.AuthenticationType;
import io.replica.api.DiskId;
import io.replica.api.VmId;
import io.replica.spi.transport.ConnectOptions;
import io.replica.spi.transport.Connection;
import io.replica.spi.transport.Endpoint;
import io.replica.spi.transport.Message;
import io.replica.spi.transport.MessageHandler;
import io.replica.spi.transport.Transport;
import java.io.IOException;
import java.lang.reflect.Method;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestExecutionExceptionHandler;
import org.opentest4j.AssertionFailedError;
import org.opentest4j.IncompleteExecutionException;

/**
 * The conformance kit for {@link Transport}: checks rules T1.1 to T1.10 of {@code
 * docs/spi-rules.md}, so that the engine's cycles, acknowledgements and reconnects behave the same
 * over every transport.
 *
 * <p>Extend it in your test tree and implement {@link #createTransport(String)}:
 *
 * <pre>{@code
 * class NettyTransportContractTest extends TransportContract<NettyTransport> {
 *   protected NettyTransport createTransport(String hostName) {
 *     return NettyTransport.builder().hostName(hostName).plaintext().build();
 *   }
 * }
 * }</pre>
 *
 * <p>Each test makes a primary and a replica transport ({@code primary.contract.test} and {@code
 * replica.contract.test}), listens on the replica with {@link #listenEndpoint(String)}, and
 * connects to what the listener bound with {@link #connectEndpoint(Transport.Listener)} and {@link
 * #connectOptions(Transport)}. The transports deliver on their own threads; the kit waits for what
 * it expects for at most {@link #waitSeconds()} seconds and never asserts how long anything takes.
 * After each test the kit closes the transports it was given. Test methods are final.
 *
 * @param <T> the transport implementation under test
 */
@ExtendWith({RuleIdInFailures.class, TransportContract.TransportRuleIds.class})
public abstract class TransportContract<T extends Transport> {

  /** How long the kit waits for an expected delivery or close before it fails, by default. */
  public static final int WAIT_SECONDS = 30;

  private final int waitSeconds = waitSeconds();

  /** The host names the kit gives the two transports of a test. */
  protected static final String PRIMARY = "primary.contract.test";

  /** The host names the kit gives the two transports of a test. */
  protected static final String REPLICA = "replica.contract.test";

  private static final VmId VM = VmId.of(new UUID(0x7431, 1));
  private static final DiskId DISK = DiskId.of(new UUID(0x7431, 2));

  private final Deque<Transport> transports = new ArrayDeque<>();

  /** For subclasses; the kit keeps no state between tests. */
  protected TransportContract() {}

  /**
   * Creates a transport for host {@code hostName} that can reach the other transports this
   * method creates in the same test (called twice per test, once per host). The connections it
   * opens must present {@code hostName} as their identity to the peer.
   *
   * @throws Exception if it cannot be made; the test fails with it
   */
  protected abstract T createTransport(String hostName) throws Exception;

  /**
   * How long the kit waits for an expected delivery or close before it fails: {@link
   * #WAIT_SECONDS} unless overridden (a slow medium may need more; the kit's own self-test less).
   */
  protected int waitSeconds() {
    return WAIT_SECONDS;
  }

  /** Where the replica listens; port 0 asks for a free port. Default: 127.0.0.1, port 0. */
  protected Endpoint listenEndpoint(String hostName) {
    return new Endpoint("127.0.0.1", 0);
  }

  /** Where the primary connects to reach {@code listener}. Default: the endpoint it bound. */
  protected Endpoint connectEndpoint(Transport.Listener listener) {
    return listener.endpoint();
  }

  /**
   * The options the primary connects with. Default: the first authentication type the transport
   * supports, no compression; override to run the kit with compression.
   */
  protected ConnectOptions connectOptions(T transport) {
    return new ConnectOptions(transport.authenticationTypes().iterator().next(), false);
  }

  @AfterEach
  final void closeTransports() {
    RuntimeException first = null;
    while (!transports.isEmpty()) {
      try {
        transports.pop().close();
      } catch (RuntimeException e) {
        first = first == null ? e : first;
      }
    }
    if (first != null) {
      throw first;
    }
  }

  // -----------------------------------------------------------------------------------------
  // Rules

  /** T1.1: messages on one connection arrive in the order sent, each once, both ways. */
  @Test
  public final void required_T1_1_messagesArriveInOrder() throws Exception {
    Link link = link();
    int count = 500;
    for (int i = 1; i <= count; i++) {
      link.client.send(new Message.ZeroRun(VM, 1, i, DISK, i * 4096L, 4096));
      link.server.send(new Message.CycleAck(VM, i));
    }
    for (int i = 1; i <= count; i++) {
      Message m = link.serverSide.next("T1.1", "ZeroRun " + i + " of " + count);
      assertEquals(new Message.ZeroRun(VM, 1, i, DISK, i * 4096L, 4096), m,
          "T1.1: message " + i + " from primary to replica arrived out of order or changed");
      assertEquals(new Message.CycleAck(VM, i), link.clientSide.next("T1.1", "CycleAck " + i),
          "T1.1: message " + i + " from replica to primary arrived out of order or changed");
    }
    link.clientSide.assertNoMore("T1.1");
    link.serverSide.assertNoMore("T1.1");
  }

  /** T1.2: every message type arrives with every field as sent, block bytes included. */
  @Test
  public final void required_T1_2_everyMessageTypeArrivesIntact() throws Exception {
    Link link = link();
    SplittableRandom random = new SplittableRandom(0x7312);
    byte[] block = new byte[1 << 20];
    random.nextBytes(block);
    byte[] zeros = new byte[256 * 1024];
    byte[] hashes = new byte[32 * 16];
    random.nextBytes(hashes);
    List<Message> primaryToReplica = List.of(
        new Message.EnableRequest(VM, "vm-ü-1", "Primary.Contract.Test",
            List.of(new Message.DiskDescriptor(DISK, 1L << 40, 4096)), 2 << 20, 24, -1, true),
        new Message.CycleBegin(VM, 7, 5, Instant.parse("2024-02-29T12:34:56.123456789Z"),
            io.replica.api.RecoveryPointType.APPLICATION_CONSISTENT, true),
        new Message.BlockData(VM, 7, 1, DISK, 0, block),
        new Message.BlockData(VM, 7, 2, DISK, 1L << 39, zeros),
        new Message.BlockData(VM, 7, 3, DISK, 4096, new byte[0]),
        new Message.ZeroRun(VM, 7, 4, DISK, 1L << 30, 1L << 35),
        new Message.CycleEnd(VM, 7, 4, block.length + (long) zeros.length, 0xCAFEBABE),
        new Message.HashRequest(VM, 7, DISK, 1L << 20, 64L << 20, 2 << 20),
        new Message.VerifyRequest(VM, 3, DISK, 1L << 20, 4L << 20, 4096),
        new Message.FailoverPrepared(VM, 9, "Primary.Contract.Test", 443,
            AuthenticationType.CERTIFICATE, java.time.Duration.ofSeconds(30)));
    List<Message> replicaToPrimary = List.of(
        new Message.EnableResponse(VM, Message.EnableStatus.ACCEPTED, "", 6),
        new Message.EnableResponse(VM, Message.EnableStatus.NOT_AUTHORIZED, "not in the list", -1),
        new Message.CycleAck(VM, 7),
        new Message.CycleRejected(VM, 8, "gap after sequence 3", true),
        new Message.HashResponse(VM, 7, DISK, 1L << 20, 2 << 20, hashes),
        new Message.VerifyResponse(VM, 3, DISK, 1L << 20, 4096, 6, hashes, ""),
        new Message.VerifyResponse(VM, 4, DISK, 0, 4096, 6, new byte[0], "still applying"),
        new Message.ChangedRanges(VM, DISK, new long[] {0, 4096, 1L << 40, 1L << 20}),
        new Message.FailoverCompleted(VM, false, "the replica is not at cycle 9"));
    for (Message m : primaryToReplica) {
      link.client.send(m);
    }
    for (Message m : replicaToPrimary) {
      link.server.send(m);
    }
    for (Message sent : primaryToReplica) {
      assertSame("T1.2", sent, link.serverSide.next("T1.2", sent.getClass().getSimpleName()));
    }
    for (Message sent : replicaToPrimary) {
      assertSame("T1.2", sent, link.clientSide.next("T1.2", sent.getClass().getSimpleName()));
    }
  }

  /** T1.3: no callback runs inside send; send returns before the message is delivered. */
  @Test
  public final void required_T1_3_callbacksNeverRunInsideSend() throws Exception {
    AtomicBoolean inSend = new AtomicBoolean();
    List<String> violations = new CopyOnWriteArrayList<>();
    Recorder server = new Recorder() {
      @Override
      public void onMessage(Connection connection, Message message) {
        if (inSend.get() && Thread.currentThread().getName().equals(sender)) {
          violations.add("onMessage(" + message + ") ran inside send()");
        }
        super.onMessage(connection, message);
      }
    };
    Link link = link(server);
    server.sender = Thread.currentThread().getName();
    for (int i = 1; i <= 100; i++) {
      inSend.set(true);
      link.client.send(new Message.CycleAck(VM, i));
      inSend.set(false);
    }
    for (int i = 1; i <= 100; i++) {
      link.serverSide.next("T1.3", "CycleAck " + i);
    }
    assertTrue(violations.isEmpty(), "T1.3: " + violations);
    assertTrue(server.threads.stream().noneMatch(t -> t.equals(server.sender)),
        "T1.3: onMessage ran on the thread that called send: " + server.sender);
  }

  /** T1.4: callbacks of one handler never overlap, even across connections. */
  @Test
  public final void required_T1_4_callbacksOfAHandlerNeverOverlap() throws Exception {
    T replica = newTransport(REPLICA);
    T primary = newTransport(PRIMARY);
    AtomicInteger active = new AtomicInteger();
    List<String> overlaps = new CopyOnWriteArrayList<>();
    Recorder shared = new Recorder() {
      @Override
      public void onMessage(Connection connection, Message message) {
        if (active.incrementAndGet() > 1) {
          overlaps.add("onMessage(" + message + ") overlapped another callback");
        }
        try {
          Thread.onSpinWait();
          super.onMessage(connection, message);
        } finally {
          active.decrementAndGet();
        }
      }
    };
    Transport.Listener listener = replica.listen(listenEndpoint(REPLICA),
        connectOptions(primary).authentication(), c -> shared);
    List<Connection> clients = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      clients.add(await("T1.4", "connect " + i,
          primary.connect(connectEndpoint(listener), connectOptions(primary), new Recorder())));
    }
    int perConnection = 300;
    for (int i = 1; i <= perConnection; i++) {
      for (Connection c : clients) {
        c.send(new Message.CycleAck(VM, i));
      }
    }
    for (int i = 0; i < perConnection * clients.size(); i++) {
      shared.next("T1.4", "message " + (i + 1) + " of " + perConnection * clients.size());
    }
    assertTrue(overlaps.isEmpty(), "T1.4: " + overlaps.size() + " overlaps, first: "
        + (overlaps.isEmpty() ? "" : overlaps.get(0)));
  }

  /** T1.5: each end sees the other host's name, lower case, as the peer identity. */
  @Test
  public final void required_T1_5_peerIdentityNamesTheOtherHost() throws Exception {
    Link link = link();
    assertEquals(REPLICA, link.client.peerIdentity(),
        "T1.5: the primary's connection must name the replica host");
    assertEquals(PRIMARY, link.server.peerIdentity(),
        "T1.5: the replica's connection must name the primary host");
    assertEquals(link.client.peerIdentity().toLowerCase(Locale.ROOT),
        link.client.peerIdentity(), "T1.5: identities are lower case");
  }

  /**
   * T1.6: closing tells each end once (the closer too), with a null cause; afterwards the
   * connection is not open and send fails.
   */
  @Test
  public final void required_T1_6_closeTellsEachEndOnce() throws Exception {
    Link link = link();
    link.client.send(new Message.CycleAck(VM, 1));
    link.serverSide.next("T1.6", "a message before the close");
    link.client.close();
    assertFalse(link.client.isOpen(), "T1.6: isOpen() after close() must be false");
    link.clientSide.awaitClosed("T1.6", "the closing end");
    link.serverSide.awaitClosed("T1.6", "the other end");
    assertNull(link.clientSide.closeCauses.get(0), "T1.6: an orderly close has no cause");
    assertNull(link.serverSide.closeCauses.get(0), "T1.6: an orderly close has no cause");
    assertFalse(link.server.isOpen(), "T1.6: the other end must not be open once told");
    CompletableFuture<Void> late = link.client.send(new Message.CycleAck(VM, 2));
    ExecutionException e = assertThrows(ExecutionException.class,
        () -> late.get(waitSeconds, TimeUnit.SECONDS),
        "T1.6: send on a closed connection must fail its future");
    assertInstanceOf(IOException.class, e.getCause(),
        "T1.6: send on a closed connection fails with an IOException");
    link.client.close();
    link.server.close();
    // Give a second onClosed the chance to show up behind a marker message on a new connection.
    Link again = link(link.transports);
    again.client.send(new Message.CycleAck(VM, 3));
    again.serverSide.next("T1.6", "a message on a second connection");
    assertEquals(1, link.clientSide.closeCauses.size(), "T1.6: onClosed more than once");
    assertEquals(1, link.serverSide.closeCauses.size(), "T1.6: onClosed more than once");
  }

  /** T1.7: closing a listener closes its connections and refuses new ones. */
  @Test
  public final void required_T1_7_closingTheListenerClosesItsConnections() throws Exception {
    Link link = link();
    Endpoint where = connectEndpoint(link.listener);
    link.listener.close();
    link.serverSide.awaitClosed("T1.7", "the accepted end");
    link.clientSide.awaitClosed("T1.7", "the connecting end");
    CompletableFuture<Connection> again =
        link.transports.primary.connect(where, connectOptions(link.transports.primary),
            new Recorder());
    ExecutionException e = assertThrows(ExecutionException.class,
        () -> again.get(waitSeconds, TimeUnit.SECONDS),
        "T1.7: connect to a closed listener must fail");
    assertInstanceOf(IOException.class, e.getCause(),
        "T1.7: connect to a closed listener fails with an IOException");
  }

  /** T1.8: connecting where nothing listens fails with an IOException that names the endpoint. */
  @Test
  public final void required_T1_8_connectToNothingFails() throws Exception {
    T replica = newTransport(REPLICA);
    T primary = newTransport(PRIMARY);
    Transport.Listener listener = replica.listen(listenEndpoint(REPLICA),
        connectOptions(primary).authentication(), c -> new Recorder());
    Endpoint where = connectEndpoint(listener);
    listener.close();
    CompletableFuture<Connection> f =
        primary.connect(where, connectOptions(primary), new Recorder());
    ExecutionException e = assertThrows(ExecutionException.class,
        () -> f.get(waitSeconds, TimeUnit.SECONDS), "T1.8: connect must fail");
    assertInstanceOf(IOException.class, e.getCause(), "T1.8: the failure is an IOException");
    assertTrue(String.valueOf(e.getCause().getMessage()).contains(String.valueOf(where.port())),
        "T1.8: the message must name the endpoint " + where + ": " + e.getCause().getMessage());
  }

  /**
   * T1.9: a sender that outruns its receiver sees isWritable() turn false, and onWritable once
   * the receiver caught up; nothing is lost.
   */
  @Test
  public final void required_T1_9_writabilityFallsAndRecovers() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    Recorder server = new Recorder() {
      @Override
      public void onMessage(Connection connection, Message message) {
        try {
          release.await(waitSeconds * 4L, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        super.onMessage(connection, message);
      }
    };
    Link link = link(server);
    byte[] block = new byte[256 * 1024];
    new SplittableRandom(0x7319).nextBytes(block); // incompressible: compression cannot hide it
    long limit = 1L << 30; // a transport that never pushes back within 1 GiB has no bound
    long sent = 0;
    int count = 0;
    while (link.client.isWritable()) {
      link.client.send(new Message.BlockData(VM, 1, ++count, DISK, sent, block));
      sent += block.length;
      if (sent > limit) {
        release.countDown();
        fail("T1.9: isWritable() stayed true after " + sent + " bytes sent to a receiver that"
            + " reads nothing; bound the bytes in flight");
      }
      if (count % 64 == 0) {
        Thread.sleep(1); // let the network move, so that the bound, not the call rate, is hit
      }
    }
    release.countDown();
    for (int i = 1; i <= count; i++) {
      Message m = link.serverSide.next("T1.9", "block " + i + " of " + count);
      assertEquals(i, ((Message.BlockData) m).sequence(), "T1.9: block out of order");
    }
    link.clientSide.awaitWritable("T1.9");
    assertTrue(link.client.isWritable(), "T1.9: writable again after onWritable");
  }

  /** T1.10: a transport refuses to listen with an authentication type it does not support. */
  @Test
  public final void optional_T1_10_unsupportedAuthenticationIsRefused() throws Exception {
    T replica = newTransport(REPLICA);
    Set<AuthenticationType> missing = EnumSet.allOf(AuthenticationType.class);
    missing.removeAll(replica.authenticationTypes());
    assertFalse(replica.authenticationTypes().isEmpty(),
        "T1.10: authenticationTypes() must not be empty");
    assumeTrue(!missing.isEmpty(), "the transport supports every authentication type");
    AuthenticationType type = missing.iterator().next();
    assertThrows(UnsupportedOperationException.class,
        () -> replica.listen(listenEndpoint(REPLICA), type, c -> new Recorder()),
        "T1.10: listen with unsupported " + type + " must throw UnsupportedOperationException");
  }

  // -----------------------------------------------------------------------------------------
  // Support

  private T newTransport(String host) throws Exception {
    T t = createTransport(host);
    assertNotNull(t, "createTransport returned null");
    transports.push(t);
    return t;
  }

  private static void assertSame(String rule, Message sent, Message got) {
    if (sent instanceof Message.HashResponse) {
      assertInstanceOf(Message.HashResponse.class, got, rule + ": expected " + sent);
      assertEquals(sent.toString(), got.toString(), rule + ": hash response fields changed");
      assertArrayEquals(((Message.HashResponse) sent).hashes(),
          ((Message.HashResponse) got).hashes(), rule + ": hashes changed");
      return;
    }
    if (sent instanceof Message.BlockData) {
      assertInstanceOf(Message.BlockData.class, got, rule + ": expected " + sent);
      Message.BlockData a = (Message.BlockData) sent;
      Message.BlockData b = (Message.BlockData) got;
      assertEquals(a.toString(), b.toString(), rule + ": block fields changed");
      assertArrayEquals(a.data(), b.data(), rule + ": block bytes changed");
    } else {
      assertEquals(sent, got, rule + ": message changed on the way");
    }
  }

  private <V> V await(String rule, String what, CompletableFuture<V> future)
      throws Exception {
    try {
      return future.get(waitSeconds, TimeUnit.SECONDS);
    } catch (TimeoutException e) {
      throw new AssertionFailedError(rule + ": " + what + " did not complete in " + waitSeconds
          + " s");
    }
  }

  private final class Pair {
    final T primary;
    final T replica;

    Pair(T primary, T replica) {
      this.primary = primary;
      this.replica = replica;
    }
  }

  private final class Link {
    final Pair transports;
    final Transport.Listener listener;
    final Connection client;
    final Recorder clientSide;
    final Connection server;
    final Recorder serverSide;

    Link(Pair transports, Transport.Listener listener, Connection client, Recorder clientSide,
        Connection server, Recorder serverSide) {
      this.transports = transports;
      this.listener = listener;
      this.client = client;
      this.clientSide = clientSide;
      this.server = server;
      this.serverSide = serverSide;
    }
  }

  private Link link() throws Exception {
    return link(new Recorder());
  }

  private Link link(Recorder serverSide) throws Exception {
    T replica = newTransport(REPLICA);
    T primary = newTransport(PRIMARY);
    return link(new Pair(primary, replica), serverSide);
  }

  private Link link(Pair pair) throws Exception {
    return link(pair, new Recorder());
  }

  private Link link(Pair pair, Recorder serverSide) throws Exception {
    LinkedBlockingQueue<Connection> accepted = new LinkedBlockingQueue<>();
    Transport.Listener listener = pair.replica.listen(listenEndpoint(REPLICA),
        connectOptions(pair.primary).authentication(), c -> {
          accepted.add(c);
          return serverSide;
        });
    Recorder clientSide = new Recorder();
    Connection client = await("connect", "connect to " + listener.endpoint(),
        pair.primary.connect(connectEndpoint(listener), connectOptions(pair.primary),
            clientSide));
    Connection server = accepted.poll(waitSeconds, TimeUnit.SECONDS);
    if (server == null) {
      throw new AssertionFailedError("the listener's handler factory was not called within "
          + waitSeconds + " s of a completed connect");
    }
    return new Link(pair, listener, client, clientSide, server, serverSide);
  }

  /** Records callbacks; the kit waits on it for what it expects. */
  private class Recorder implements MessageHandler {
    final LinkedBlockingQueue<Message> messages = new LinkedBlockingQueue<>();
    final List<@Nullable Throwable> closeCauses = new CopyOnWriteArrayList<>();
    final CountDownLatch closed = new CountDownLatch(1);
    final CountDownLatch writable = new CountDownLatch(1);
    final List<String> threads = new CopyOnWriteArrayList<>();
    volatile String sender = "";

    @Override
    public void onMessage(Connection connection, Message message) {
      threads.add(Thread.currentThread().getName());
      messages.add(message);
    }

    @Override
    public void onWritable(Connection connection) {
      writable.countDown();
    }

    @Override
    public void onClosed(Connection connection, @Nullable Throwable cause) {
      closeCauses.add(cause);
      closed.countDown();
    }

    Message next(String rule, String what) throws InterruptedException {
      Message m = messages.poll(waitSeconds, TimeUnit.SECONDS);
      if (m == null) {
        throw new AssertionFailedError(rule + ": " + what + " did not arrive within "
            + waitSeconds + " s");
      }
      return m;
    }

    void assertNoMore(String rule) {
      assertTrue(messages.isEmpty(), rule + ": unexpected extra messages " + messages);
    }

    void awaitClosed(String rule, String which) throws InterruptedException {
      if (!closed.await(waitSeconds, TimeUnit.SECONDS)) {
        throw new AssertionFailedError(rule + ": " + which + " got no onClosed within "
            + waitSeconds + " s");
      }
    }

    void awaitWritable(String rule) throws InterruptedException {
      if (!writable.await(waitSeconds, TimeUnit.SECONDS)) {
        throw new AssertionFailedError(rule + ": the sender got no onWritable within "
            + waitSeconds + " s after the receiver caught up");
      }
    }
  }

  /**
   * Names the T rule of the running test in an unexpected exception, as {@link RuleIdInFailures}
   * does for the D rules; public only because JUnit instantiates it.
   */
  public static final class TransportRuleIds implements TestExecutionExceptionHandler {
    private static final Pattern RULE = Pattern.compile("_T(\\d+)_(\\d+)_");

    /** Instantiated by JUnit. */
    public TransportRuleIds() {}

    /**
     * Rethrows {@code throwable}, wrapped in an assertion failure naming the rule unless it
     * already is an assertion failure or a skip.
     *
     * @throws Throwable always
     */
    @Override
    public void handleTestExecutionException(ExtensionContext context, Throwable throwable)
        throws Throwable {
      if (throwable instanceof AssertionError
          || throwable instanceof IncompleteExecutionException) {
        throw throwable;
      }
      String rule = context.getTestMethod().map(TransportRuleIds::ruleOf).orElse(null);
      if (rule == null) {
        throw throwable;
      }
      throw new AssertionFailedError(rule + ": the implementation threw " + throwable, throwable);
    }

    private static @Nullable String ruleOf(Method method) {
      Matcher m = RULE.matcher(method.getName());
      return m.find() ? "T" + m.group(1) + "." + m.group(2) : null;
    }
  }
}
