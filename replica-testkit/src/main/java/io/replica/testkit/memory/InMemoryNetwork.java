package io.replica.testkit.memory;

import io.replica.api.AuthenticationType;
import io.replica.spi.time.Scheduler;
import io.replica.spi.transport.Connection;
import io.replica.spi.transport.ConnectOptions;
import io.replica.spi.transport.Endpoint;
import io.replica.spi.transport.Message;
import io.replica.spi.transport.MessageHandler;
import io.replica.spi.transport.Transport;
import java.io.IOException;
import java.net.BindException;
import java.net.ConnectException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;

/**
 * A network inside one JVM that links the {@link Transport}s of named hosts, so that replication
 * managers can replicate to each other in a unit test or a simulation, deterministically, with
 * faults that the test injects while the run goes on ({@link #faults()}).
 *
 * <p><b>Names stand in for authentication.</b> {@link #transport(String)} gives the transport of
 * one host. A connection it opens presents that host name (lower case) as
 * {@link Connection#peerIdentity()} to the accepting side, and the accepting side's connection
 * presents the listening host's name to the connecting side. The network vouches for these names
 * the way TLS certificates or Kerberos tickets do between real machines; nothing is checked
 * cryptographically, so this is a test stand-in for authentication, never a security boundary.
 * A transport accepts a listener's {@link AuthenticationType} only if it was configured for it,
 * and a connection only if it asks for the type the listener accepts, which is enough to test
 * the engine's settings and error paths.
 *
 * <p><b>Delivery.</b> Every message is delivered by a task on the {@link Scheduler} given here,
 * never inside {@link Connection#send}: with a manual scheduler nothing moves until the test runs
 * it, and a run is a function of the test's calls. Messages on one connection arrive in the order
 * sent, each at most once (unless a duplicate fault says otherwise). Callbacks of one
 * {@link MessageHandler} never run concurrently, even on a scheduler with many threads and even
 * when one handler serves several connections; each callback is one scheduler task, so a
 * simulation can interleave hosts at every message. The scheduler must not run a task inside
 * {@code execute} or {@code schedule}.
 *
 * <p><b>Copies.</b> {@link Message.BlockData} payloads are copied in {@code send}: the receiver
 * gets a private array, and when a message is delivered the network checks that the sender did
 * not change its array in the meantime (the SPI forbids it, and a zero-copy transport such as
 * Netty would send the changed bytes). Such a change, or a handler that throws, is recorded as a
 * violation: see {@link #violations()} and {@link #checkNoViolations()}.
 *
 * <p><b>Closing.</b> {@link Connection#close()} behaves like closing a socket: the messages this
 * end already sent are still delivered, then the peer gets {@code onClosed(null)}; messages on
 * their way to the closing end are lost. From the moment either end closes, both ends report
 * {@code isOpen() == false} and refuse {@code send} with a {@link
 * java.nio.channels.ClosedChannelException}. Every end whose handler is known gets
 * {@link MessageHandler#onClosed} exactly once, the closing end too (as Netty's
 * {@code channelInactive}), so the engine has one clean-up path. A reset by a fault (disconnect,
 * partition) loses the messages in flight both ways, and both ends get {@code onClosed} with an
 * {@link IOException}.
 *
 * <p><b>Back-pressure.</b> Each direction of a connection counts the bytes in flight (block
 * payload length plus {@link #MESSAGE_OVERHEAD_BYTES} per message) until the receiving handler
 * gets them. Above {@link #inFlightBytesMax()} {@link Connection#isWritable()} turns false; when the
 * count falls to half of it, the sender's handler gets {@code onWritable}. As with Netty, the
 * bound is advisory: {@code send} still accepts messages while the connection is not writable.
 *
 * <p><b>Counters.</b> Per direction between two hosts, the network counts messages sent,
 * payload bytes sent, messages delivered and messages dropped, so a test can check how much
 * crossed the network.
 *
 * <p>Thread-safe. A connection's future from {@code connect} completes on the scheduler, before
 * any callback of that connection.
 */
public final class InMemoryNetwork {

  /** The default bound on bytes in flight per direction of a connection: 8 MiB. */
  public static final long DEFAULT_IN_FLIGHT_BYTES_MAX = 8L * 1024 * 1024;

  /** Bytes counted for every message in flight on top of its payload, for back-pressure only. */
  public static final int MESSAGE_OVERHEAD_BYTES = 64;

  private static final int FIRST_EPHEMERAL_PORT = 49152;
  private static final int LAST_PORT = 65535;

  final Object lock = new Object();
  final Scheduler scheduler;
  private final long inFlightBytesMax;
  private final NetworkFaults faults;

  // Everything below is guarded by lock.
  private final Map<String, InMemoryTransport> transports = new HashMap<>();
  private final Map<Endpoint, InMemoryListener> listeners = new HashMap<>();
  private final Map<String, Integer> nextPorts = new HashMap<>();
  /** Connecting ends of the connections that still have an end without onClosed posted. */
  private final Set<InMemoryConnection> links = new LinkedHashSet<>();
  private final Map<MessageHandler, HandlerMailbox> mailboxes = new IdentityHashMap<>();
  private final Map<HostLink, Counters> counters = new HashMap<>();
  private final List<String> violations = new ArrayList<>();

  /**
   * A network that delivers on {@code scheduler} with the default bound of
   * {@link #DEFAULT_IN_FLIGHT_BYTES_MAX} bytes in flight per direction.
   *
   * @param scheduler a manual scheduler in tests (delivery then moves only when the test runs
   *     it), a real one in demos
   * @throws NullPointerException if {@code scheduler} is null
   */
  public InMemoryNetwork(Scheduler scheduler) {
    this(scheduler, DEFAULT_IN_FLIGHT_BYTES_MAX);
  }

  /**
   * A network that delivers on {@code scheduler} and lets each direction of a connection hold up
   * to {@code inFlightBytesMax} bytes before it reports itself not writable; a small bound makes
   * back-pressure easy to reach in a test.
   *
   * @throws NullPointerException if {@code scheduler} is null
   * @throws IllegalArgumentException if {@code inFlightBytesMax} is not positive
   */
  public InMemoryNetwork(Scheduler scheduler, long inFlightBytesMax) {
    this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
    if (inFlightBytesMax <= 0) {
      throw new IllegalArgumentException(
          "inFlightBytesMax " + inFlightBytesMax + " is invalid; pass a positive number of bytes");
    }
    this.inFlightBytesMax = inFlightBytesMax;
    this.faults = new NetworkFaults(this);
  }

  /** The bound on bytes in flight per direction of a connection (see the class comment). */
  public long inFlightBytesMax() {
    return inFlightBytesMax;
  }

  /**
   * The transport of host {@code hostName}, accepting both authentication types; the open
   * transport of that host if there is one, or a new one (after the previous one was closed, for
   * instance when a test restarts a crashed host).
   *
   * @param hostName the host's name, which its connections present as their identity; compared
   *     in lower case
   * @throws NullPointerException if {@code hostName} is null
   * @throws IllegalArgumentException if {@code hostName} is blank
   */
  public Transport transport(String hostName) {
    return transport(hostName, null, false);
  }

  /**
   * The transport of host {@code hostName}, able to perform only {@code authenticationTypes}: the
   * open transport of that host if there is one, or a new one. Use it to test what the engine
   * does when a host lacks Kerberos or certificates.
   *
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if {@code hostName} is blank or {@code authenticationTypes}
   *     empty
   * @throws IllegalStateException if the host already has an open transport with other types
   *     (close it first)
   */
  public Transport transport(String hostName, Set<AuthenticationType> authenticationTypes) {
    Objects.requireNonNull(authenticationTypes, "authenticationTypes");
    return transport(hostName, authenticationTypes, true);
  }

  private Transport transport(
      String hostName, @Nullable Set<AuthenticationType> types, boolean explicit) {
    String host = HostLink.hostName(hostName, "hostName");
    Set<AuthenticationType> wanted;
    if (types == null) {
      wanted = Collections.unmodifiableSet(EnumSet.allOf(AuthenticationType.class));
    } else {
      if (types.isEmpty()) {
        throw new IllegalArgumentException(
            "cannot make a transport for host '" + host + "' with no authentication types; pass"
                + " KERBEROS, CERTIFICATE or both");
      }
      wanted = Collections.unmodifiableSet(EnumSet.copyOf(types));
    }
    synchronized (lock) {
      InMemoryTransport existing = transports.get(host);
      if (existing != null) {
        if (explicit && !existing.authenticationTypes().equals(wanted)) {
          throw new IllegalStateException(
              "host '" + host + "' already has an open in-memory transport with authentication "
                  + existing.authenticationTypes() + ", not " + wanted
                  + "; close it before asking for one with other types");
        }
        return existing;
      }
      InMemoryTransport created = new InMemoryTransport(this, host, wanted);
      transports.put(host, created);
      return created;
    }
  }

  /** The faults a test injects into this network at run time: delay, drop, reset, partition. */
  public NetworkFaults faults() {
    return faults;
  }

  /**
   * How many messages host {@code fromHost} handed to {@code send} on connections to
   * {@code toHost}, including ones a fault dropped; a duplicated message counts once.
   *
   * @throws NullPointerException if a host is null
   */
  public long messagesSent(String fromHost, String toHost) {
    return counter(fromHost, toHost).messagesSent;
  }

  /**
   * How many block payload bytes ({@link Message.BlockData#data()}) host {@code fromHost} sent to
   * {@code toHost}: the bytes that crossed the network, counted as for {@link #messagesSent}.
   *
   * @throws NullPointerException if a host is null
   */
  public long payloadBytesSent(String fromHost, String toHost) {
    return counter(fromHost, toHost).payloadBytesSent;
  }

  /**
   * How many messages from {@code fromHost} a handler on {@code toHost} received (a duplicated
   * message counts twice, a dropped or lost one not at all).
   *
   * @throws NullPointerException if a host is null
   */
  public long messagesDelivered(String fromHost, String toHost) {
    return counter(fromHost, toHost).messagesDelivered;
  }

  /**
   * How many messages from {@code fromHost} to {@code toHost} a drop fault removed; messages lost
   * in a reset are not counted here (they were not dropped one by one).
   *
   * @throws NullPointerException if a host is null
   */
  public long messagesDropped(String fromHost, String toHost) {
    return counter(fromHost, toHost).messagesDropped;
  }

  private Counters counter(String fromHost, String toHost) {
    HostLink link = new HostLink(
        HostLink.hostName(fromHost, "fromHost"), HostLink.hostName(toHost, "toHost"));
    synchronized (lock) {
      Counters c = counters.get(link);
      return c == null ? new Counters() : c.copy();
    }
  }

  /** How many connections have an end that has not been closed (and told so) yet. */
  public int openConnectionCount() {
    synchronized (lock) {
      return links.size();
    }
  }

  /**
   * Misuse the network saw, one line each, oldest first: a sender that changed a block payload
   * after sending it, a handler or listener factory that threw. The engine's tests check this is
   * empty, because such bugs may otherwise go unnoticed in memory and corrupt data over a real
   * network.
   */
  public List<String> violations() {
    synchronized (lock) {
      return List.copyOf(violations);
    }
  }

  /**
   * Fails if {@link #violations()} is not empty.
   *
   * @throws AssertionError listing every violation
   */
  public void checkNoViolations() {
    List<String> seen = violations();
    if (!seen.isEmpty()) {
      throw new AssertionError("the in-memory network saw " + seen.size() + " violation(s):\n  "
          + String.join("\n  ", seen));
    }
  }

  /**
   * Fails if a listener or a connection is still open, naming where each was opened, so a test
   * can check that the code under test closes what it opens.
   *
   * @throws IllegalStateException listing the open handles, with their opening stacks attached
   */
  public void checkNoLeaks() {
    List<StorageLeaks.OpenedAt> open = new ArrayList<>();
    synchronized (lock) {
      for (InMemoryListener listener : listeners.values()) {
        open.add(listener.openedAt);
      }
      for (InMemoryConnection connector : links) {
        if (!connector.closedPosted) {
          open.add(connector.openedAt);
        }
        InMemoryConnection acceptor = connector.peer();
        if (!acceptor.closedPosted) {
          open.add(acceptor.openedAt);
        }
      }
    }
    StorageLeaks.check("in-memory network", open);
  }

  @Override
  public String toString() {
    synchronized (lock) {
      return "InMemoryNetwork[" + transports.keySet() + ", " + links.size() + " connections]";
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Listening and connecting

  InMemoryListener listen(
      InMemoryTransport transport, Endpoint local, AuthenticationType authentication,
      Function<Connection, MessageHandler> handlers) throws IOException {
    Objects.requireNonNull(local, "local");
    Objects.requireNonNull(authentication, "authentication");
    Objects.requireNonNull(handlers, "handlers");
    if (!transport.authenticationTypes().contains(authentication)) {
      throw new UnsupportedOperationException(
          "cannot listen on " + local + " with " + authentication + " authentication: the "
              + transport + " was made for " + transport.authenticationTypes()
              + " (ask InMemoryNetwork.transport(host, types) for a transport with that type)");
    }
    synchronized (lock) {
      if (transport.closed) {
        throw new IllegalStateException(
            "cannot listen on " + local + ": the " + transport + " is closed; get a new one from"
                + " InMemoryNetwork.transport(\"" + transport.host + "\")");
      }
      if (!local.host().equals(transport.host)) {
        throw new BindException(
            "cannot listen on " + local + ": the " + transport + " can only bind endpoints of its"
                + " own host (listen on new Endpoint(\"" + transport.host + "\", port))");
      }
      Endpoint bound = local.port() == 0 ? new Endpoint(transport.host, freePort(transport.host))
          : local;
      if (listeners.containsKey(bound)) {
        throw new BindException(
            "cannot listen on " + bound + ": address already in use by another listener (close"
                + " that listener first, or listen on port 0 for a free port)");
      }
      InMemoryListener listener = new InMemoryListener(transport, bound, authentication, handlers);
      listeners.put(bound, listener);
      transport.listeners.add(listener);
      return listener;
    }
  }

  /** A port of {@code host} no listener uses, from the ephemeral range; called with lock held. */
  private int freePort(String host) throws BindException {
    int port = nextPorts.getOrDefault(host, FIRST_EPHEMERAL_PORT);
    for (int tries = 0; tries <= LAST_PORT - FIRST_EPHEMERAL_PORT; tries++) {
      int candidate = port;
      port = port == LAST_PORT ? FIRST_EPHEMERAL_PORT : port + 1;
      if (!listeners.containsKey(new Endpoint(host, candidate))) {
        nextPorts.put(host, port);
        return candidate;
      }
    }
    throw new BindException(
        "host '" + host + "' has no free port left in " + FIRST_EPHEMERAL_PORT + "-" + LAST_PORT
            + "; close listeners that are no longer used");
  }

  CompletableFuture<Connection> connect(
      InMemoryTransport transport, Endpoint remote, ConnectOptions options,
      MessageHandler handler) {
    Objects.requireNonNull(remote, "remote");
    Objects.requireNonNull(options, "options");
    Objects.requireNonNull(options.authentication(), "options.authentication");
    Objects.requireNonNull(handler, "handler");
    CompletableFuture<Connection> result = new CompletableFuture<>();
    scheduler.execute(() -> establish(transport, remote, options, handler, result));
    return result;
  }

  /** Opens a connection in a scheduler task, so no engine code runs inside connect(). */
  private void establish(
      InMemoryTransport transport, Endpoint remote, ConnectOptions options,
      MessageHandler handler, CompletableFuture<Connection> result) {
    InMemoryConnection connector = null;
    InMemoryConnection acceptor = null;
    InMemoryListener listener = null;
    Throwable refusal;
    synchronized (lock) {
      refusal = refusal(transport, remote, options);
      if (refusal == null) {
        listener = Objects.requireNonNull(listeners.get(remote));
        try {
          Endpoint from = new Endpoint(transport.host, freePort(transport.host));
          connector = new InMemoryConnection(
              this, transport, listener.transport.host, listener.endpoint, null);
          acceptor = new InMemoryConnection(this, listener.transport, transport.host, from, listener);
          connector.peer = acceptor;
          acceptor.peer = connector;
          connector.out = new MessagePipe(connector, acceptor);
          acceptor.out = new MessagePipe(acceptor, connector);
        } catch (BindException e) {
          refusal = e;
        }
      }
    }
    if (refusal != null) {
      result.completeExceptionally(refusal); // outside the lock: dependents run here
      return;
    }
    Objects.requireNonNull(connector);
    Objects.requireNonNull(acceptor);
    Objects.requireNonNull(listener);

    // The listener's factory is engine code: call it without the lock. The accepted end is open
    // while it runs (the factory may send a greeting); the connecting end is not visible yet.
    MessageHandler acceptorHandler;
    try {
      acceptorHandler = Objects.requireNonNull(
          listener.handlers.apply(acceptor), "the handler the listener's factory returned");
    } catch (RuntimeException e) {
      synchronized (lock) {
        for (InMemoryConnection end : List.of(connector, acceptor)) {
          end.open = false;
          end.closedPosted = true;
          end.out().discardAll();
        }
        violations.add("the handler factory of the " + listener + " threw " + e
            + " for a connection from host '" + transport.host + "'");
      }
      result.completeExceptionally(new IOException(
          "replica server " + remote + " failed to accept the connection from host '"
              + transport.host + "': its handler factory threw " + e, e));
      return;
    }

    List<Runnable> after = new ArrayList<>();
    Throwable failure;
    synchronized (lock) {
      failure = acceptor.open
          ? refusalAfterAccept(transport, listener)
          : new IOException("replica server " + remote + " closed the connection from host '"
              + transport.host + "' while accepting it");
      if (failure == null) {
        acceptor.mailbox = acquireMailbox(acceptorHandler);
        HandlerMailbox mailbox = acquireMailbox(handler);
        connector.mailbox = mailbox;
        links.add(connector);
        transport.connections.add(connector);
        listener.transport.connections.add(acceptor);
        listener.accepted.add(acceptor);
        // Completing the future in the connector's mailbox orders it before any callback.
        InMemoryConnection established = connector;
        mailbox.post(() -> result.complete(established), after);
        pump(acceptor.out(), after); // messages the acceptor sent from inside its factory
      } else {
        connector.open = false;
        connector.closedPosted = true;
        acceptor.open = false;
        acceptor.out().discardAll();
        acceptor.in().discardAll();
        if (!acceptor.closedPosted) {
          // The accepting side has a handler now: tell it, as a server learns of a failed accept.
          acceptor.mailbox = acquireMailbox(acceptorHandler);
          postClosed(acceptor, new IOException("the connection from host '" + transport.host
              + "' failed while it was accepted: " + failure.getMessage(), failure), after);
        }
      }
    }
    runAll(after);
    if (failure != null) {
      result.completeExceptionally(failure);
    }
  }

  /** Why a connection cannot be opened now, or null; called with the lock held. */
  private @Nullable Throwable refusal(
      InMemoryTransport transport, Endpoint remote, ConnectOptions options) {
    if (transport.closed) {
      return new IllegalStateException(
          "cannot connect to " + remote + ": the " + transport + " is closed; get a new one from"
              + " InMemoryNetwork.transport(\"" + transport.host + "\")");
    }
    if (!transport.authenticationTypes().contains(options.authentication())) {
      return new UnsupportedOperationException(
          "cannot connect to " + remote + " with " + options.authentication()
              + " authentication: the " + transport + " was made for "
              + transport.authenticationTypes()
              + " (ask InMemoryNetwork.transport(host, types) for a transport with that type)");
    }
    if (options.compression()) {
      return new UnsupportedOperationException(
          "cannot connect to " + remote + " with compression: the in-memory transport does not"
              + " compress (check Transport.supportsCompression() before asking for it)");
    }
    if (faults.partitioned(transport.host, remote.host())) {
      return new ConnectException(
          "connect from host '" + transport.host + "' to " + remote + " timed out: hosts '"
              + transport.host + "' and '" + remote.host() + "' are partitioned (injected fault;"
              + " NetworkFaults.heal ends it)");
    }
    InMemoryListener listener = listeners.get(remote);
    if (listener == null) {
      return new ConnectException(
          "connection refused: nothing listens on " + remote + " (host '" + transport.host
              + "' tried to connect; start a listener on that endpoint, or check host and port)");
    }
    if (listener.authentication != options.authentication()) {
      return new IOException(
          "replica server " + remote + " does not accept " + options.authentication()
              + " authentication; it accepts " + listener.authentication + " on that endpoint"
              + " (connect with " + listener.authentication + ", or to the endpoint that accepts "
              + options.authentication() + ")");
    }
    return null;
  }

  /** Why an accepted connection cannot go on after the factory ran; lock held. */
  private @Nullable Throwable refusalAfterAccept(
      InMemoryTransport transport, InMemoryListener listener) {
    if (transport.closed) {
      return new IllegalStateException(
          "cannot connect to " + listener.endpoint + ": the " + transport + " was closed while"
              + " connecting; get a new one from InMemoryNetwork.transport(\"" + transport.host
              + "\")");
    }
    if (listener.closed) {
      return new ConnectException(
          "connection refused: the listener on " + listener.endpoint + " closed while accepting"
              + " the connection from host '" + transport.host + "'");
    }
    if (faults.partitioned(transport.host, listener.transport.host)) {
      return new ConnectException(
          "connect from host '" + transport.host + "' to " + listener.endpoint + " timed out:"
              + " the hosts were partitioned while connecting (injected fault; NetworkFaults.heal"
              + " ends it)");
    }
    return null;
  }

  private HandlerMailbox acquireMailbox(MessageHandler handler) {
    HandlerMailbox mailbox = mailboxes.computeIfAbsent(handler, h -> new HandlerMailbox(this, h));
    mailbox.users++;
    return mailbox;
  }

  // ---------------------------------------------------------------------------------------------
  // Sending and delivering

  CompletableFuture<Void> send(InMemoryConnection from, Message message) {
    Objects.requireNonNull(message, "message");
    // Copy outside the lock: a block may be megabytes.
    byte[] snapshot = message instanceof Message.BlockData
        ? ((Message.BlockData) message).data().clone() : null;
    List<Runnable> after = new ArrayList<>();
    synchronized (lock) {
      if (!from.open) {
        return CompletableFuture.failedFuture(new ConnectionClosedException(
            "cannot send " + message + " on the " + from + ": the connection is closed;"
                + " reconnect and resume from the last acknowledged cycle"));
      }
      MessagePipe pipe = from.out();
      Counters c = counters.computeIfAbsent(pipe.direction, d -> new Counters());
      c.messagesSent++;
      c.payloadBytesSent += snapshot == null ? 0 : snapshot.length;
      if (faults.takeDrop(pipe.direction, message)) {
        c.messagesDropped++;
      } else {
        int copies = faults.takeDuplicate(pipe.direction) ? 2 : 1;
        boolean corrupt = snapshot != null && snapshot.length > 0
            && faults.takeCorruption(pipe.direction);
        Duration delay = faults.delay(pipe.direction);
        long bytes = (snapshot == null ? 0 : snapshot.length) + (long) MESSAGE_OVERHEAD_BYTES;
        MessagePipe.InFlight entry = new MessagePipe.InFlight(message, snapshot, corrupt, bytes);
        MessagePipe.InFlight held = pipe.held;
        if (held == null && copies == 1 && faults.takeReorder(pipe.direction)) {
          pipe.held = entry; // goes after the next message
        } else {
          for (int i = 0; i < copies; i++) {
            enqueue(pipe, i == 0 ? entry : new MessagePipe.InFlight(message, snapshot, corrupt, bytes), delay, after);
          }
          if (held != null) {
            pipe.held = null;
            enqueue(pipe, held, delay, after);
          }
        }
      }
    }
    runAll(after);
    return CompletableFuture.completedFuture(null);
  }

  /** Puts {@code entry} on its way; lock held. */
  private void enqueue(
      MessagePipe pipe, MessagePipe.InFlight entry, Duration delay, List<Runnable> after) {
    pipe.waiting.add(entry);
    pipe.inFlightBytes += entry.bytes;
    if (pipe.writable && pipe.inFlightBytes > inFlightBytesMax) {
      pipe.writable = false;
    }
    if (delay.isZero()) {
      entry.ready = true;
      pump(pipe, after);
    } else {
      after.add(() -> scheduler.schedule(() -> delayPassed(pipe, entry), delay));
    }
  }

  private void delayPassed(MessagePipe pipe, MessagePipe.InFlight entry) {
    List<Runnable> after = new ArrayList<>();
    synchronized (lock) {
      if (entry.discarded) {
        return;
      }
      entry.ready = true;
      pump(pipe, after);
    }
    runAll(after);
  }

  /**
   * Hands every ready message at the head of the pipe to the receiver's mailbox, in order, then
   * the orderly close if the sender closed and nothing is left; lock held.
   */
  private void pump(MessagePipe pipe, List<Runnable> after) {
    InMemoryConnection to = pipe.to;
    HandlerMailbox mailbox = to.mailbox;
    if (mailbox == null || to.closedPosted) {
      return; // not accepted yet (the messages wait), or closed (they were discarded)
    }
    while (!pipe.waiting.isEmpty() && pipe.waiting.peekFirst().ready) {
      MessagePipe.InFlight entry = pipe.waiting.pollFirst();
      pipe.handedOff.addLast(entry);
      mailbox.post(() -> deliver(pipe, entry), after);
    }
    if (pipe.waiting.isEmpty() && pipe.endOfStream) {
      postClosed(to, null, after);
    }
  }

  /** A callback in the receiver's mailbox: gives one message to its handler. */
  private void deliver(MessagePipe pipe, MessagePipe.InFlight entry) {
    List<Runnable> after = new ArrayList<>();
    MessageHandler handler;
    synchronized (lock) {
      if (entry.discarded) {
        return; // lost in a reset, or the receiver closed
      }
      MessagePipe.InFlight head = pipe.handedOff.pollFirst();
      if (head != entry) {
        throw new IllegalStateException(
            "in-memory network bug: " + pipe.direction + " delivered out of order");
      }
      pipe.inFlightBytes -= entry.bytes;
      if (!pipe.writable && pipe.inFlightBytes <= inFlightBytesMax / 2) {
        pipe.writable = true;
        HandlerMailbox senderMailbox = pipe.from.mailbox;
        if (pipe.from.open && senderMailbox != null) {
          senderMailbox.post(() -> writable(pipe.from), after);
        }
      }
      counters.computeIfAbsent(pipe.direction, d -> new Counters()).messagesDelivered++;
      if (entry.snapshot != null
          && !Arrays.equals(((Message.BlockData) entry.sent).data(), entry.snapshot)) {
        violations.add("the payload of " + entry.sent + " sent " + pipe.direction
            + " was changed by the sender after send(); the receiver got the bytes as they were"
            + " at send(), a real transport may not (never reuse a payload array once sent)");
      }
      handler = Objects.requireNonNull(pipe.to.mailbox).handler;
    }
    runAll(after);
    Message message = entry.receiverCopy();
    invoke(pipe.to, handler, "onMessage(" + message + ")",
        () -> handler.onMessage(pipe.to, message));
  }

  /** A callback in the sender's mailbox: tells its handler it may send again. */
  private void writable(InMemoryConnection connection) {
    MessageHandler handler;
    synchronized (lock) {
      if (!connection.open) {
        return;
      }
      handler = Objects.requireNonNull(connection.mailbox).handler;
    }
    invoke(connection, handler, "onWritable", () -> handler.onWritable(connection));
  }

  private void invoke(
      InMemoryConnection connection, MessageHandler handler, String callback, Runnable call) {
    try {
      call.run();
    } catch (RuntimeException | Error e) {
      synchronized (lock) {
        violations.add("the handler " + handler + " of the " + connection + " threw from "
            + callback + ": " + e);
      }
      throw e;
    }
  }

  boolean isWritable(InMemoryConnection connection) {
    synchronized (lock) {
      return connection.open && connection.out().writable;
    }
  }

  boolean isOpen(InMemoryConnection connection) {
    synchronized (lock) {
      return connection.open;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Closing and resetting

  void close(InMemoryConnection connection) {
    List<Runnable> after = new ArrayList<>();
    synchronized (lock) {
      closeLocked(connection, after);
    }
    runAll(after);
  }

  private void closeLocked(InMemoryConnection connection, List<Runnable> after) {
    if (connection.closedPosted) {
      return;
    }
    if (connection.open) {
      connection.open = false;
      connection.peer().open = false;
      MessagePipe out = connection.out();
      out.endOfStream = true;
      pump(out, after); // tells the peer at once if nothing is in flight to it
    }
    connection.in().discardAll(); // the closing end reads no more
    postClosed(connection, null, after);
  }

  void close(InMemoryListener listener) {
    List<Runnable> after = new ArrayList<>();
    synchronized (lock) {
      closeLocked(listener, after);
    }
    runAll(after);
  }

  private void closeLocked(InMemoryListener listener, List<Runnable> after) {
    if (listener.closed) {
      return;
    }
    listener.closed = true;
    listeners.remove(listener.endpoint, listener);
    listener.transport.listeners.remove(listener);
    for (InMemoryConnection accepted : List.copyOf(listener.accepted)) {
      closeLocked(accepted, after);
    }
  }

  void close(InMemoryTransport transport) {
    List<Runnable> after = new ArrayList<>();
    synchronized (lock) {
      closeLocked(transport, after);
    }
    runAll(after);
  }

  private void closeLocked(InMemoryTransport transport, List<Runnable> after) {
    if (transport.closed) {
      return;
    }
    transport.closed = true;
    transports.remove(transport.host, transport);
    for (InMemoryListener listener : List.copyOf(transport.listeners)) {
      closeLocked(listener, after);
    }
    for (InMemoryConnection connection : List.copyOf(transport.connections)) {
      closeLocked(connection, after);
    }
  }

  /**
   * Resets every connection between {@code a} and {@code b}: messages in flight both ways are
   * lost, and each end not yet closed gets onClosed with an IOException saying {@code why}.
   *
   * @return how many connections were reset
   */
  int reset(String a, String b, String why) {
    List<Runnable> after = new ArrayList<>();
    int count;
    synchronized (lock) {
      count = resetLocked(hosts -> hosts.joins(a, b), why, after);
    }
    runAll(after);
    return count;
  }

  /**
   * Resets every connection of {@code host} as {@link #reset} does, then closes its listeners and
   * its transport, so that {@link #transport(String)} gives the restarted host a new one.
   *
   * @return how many connections were reset
   */
  int crash(String host, String why) {
    List<Runnable> after = new ArrayList<>();
    int count;
    synchronized (lock) {
      count = resetLocked(
          hosts -> hosts.from().equals(host) || hosts.to().equals(host), why, after);
      InMemoryTransport transport = transports.get(host);
      if (transport != null) {
        closeLocked(transport, after);
      }
    }
    runAll(after);
    return count;
  }

  private int resetLocked(Predicate<HostLink> which, String why, List<Runnable> after) {
    int count = 0;
    for (InMemoryConnection connector : List.copyOf(links)) {
      if (!which.test(new HostLink(connector.localHost, connector.peerHost))) {
        continue;
      }
      count++;
      IOException cause = new IOException(
          "connection between '" + connector.localHost + "' and '" + connector.peerHost
              + "' was reset: " + why);
      for (InMemoryConnection end : List.of(connector, connector.peer())) {
        end.open = false;
      }
      for (InMemoryConnection end : List.of(connector, connector.peer())) {
        if (!end.closedPosted) {
          end.in().discardAll();
          postClosed(end, cause, after);
        }
      }
    }
    return count;
  }

  /** Queues the one onClosed callback of {@code end} after everything queued for it; lock held. */
  private void postClosed(InMemoryConnection end, @Nullable Throwable cause, List<Runnable> after) {
    if (end.closedPosted) {
      return;
    }
    end.closedPosted = true;
    end.open = false;
    end.transport.connections.remove(end);
    InMemoryListener listener = end.listener;
    if (listener != null) {
      listener.accepted.remove(end);
    }
    InMemoryConnection peer = end.peer();
    if (peer.closedPosted) {
      links.remove(end.listener == null ? end : peer);
    }
    HandlerMailbox mailbox = end.mailbox;
    if (mailbox != null) {
      mailbox.post(() -> closed(end, mailbox, cause), after);
    }
  }

  /** A callback in the end's mailbox: tells its handler the connection closed, last of all. */
  private void closed(InMemoryConnection end, HandlerMailbox mailbox, @Nullable Throwable cause) {
    try {
      invoke(end, mailbox.handler, "onClosed", () -> mailbox.handler.onClosed(end, cause));
    } finally {
      synchronized (lock) {
        if (--mailbox.users == 0) {
          mailboxes.remove(mailbox.handler, mailbox);
        }
      }
    }
  }

  private static void runAll(List<Runnable> after) {
    for (Runnable action : after) {
      action.run();
    }
  }

  /** The traffic of one direction between two hosts. */
  private static final class Counters {
    long messagesSent;
    long payloadBytesSent;
    long messagesDelivered;
    long messagesDropped;

    Counters copy() {
      Counters c = new Counters();
      c.messagesSent = messagesSent;
      c.payloadBytesSent = payloadBytesSent;
      c.messagesDelivered = messagesDelivered;
      c.messagesDropped = messagesDropped;
      return c;
    }
  }
}
