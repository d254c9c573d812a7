package io.replica.transport.netty.internal.handler;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.handler.timeout.IdleState;
import io.netty.handler.timeout.IdleStateEvent;
import io.replica.spi.transport.Connection;
import io.replica.spi.transport.Endpoint;
import io.replica.spi.transport.MessageHandler;
import io.replica.transport.netty.ConnectionDecision;
import io.replica.transport.netty.internal.codec.Frame;
import io.replica.transport.netty.internal.codec.FrameDecoder;
import io.replica.transport.netty.internal.codec.FrameEncoder;
import io.replica.transport.netty.internal.codec.ProtocolViolation;
import io.replica.transport.netty.internal.codec.WireFormat;
import java.io.IOException;
import java.net.ProtocolException;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import javax.net.ssl.SSLException;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The protocol state of one channel: authentication, the hello exchange with version and
 * compression negotiation, heartbeats, delivery of messages to the engine's handler off the event
 * loop with a bound on what waits for it ({@link InboundFlow}), and exactly one onClosed per end.
 *
 * <p>The connecting side speaks first: once its channel is secure and the server's certificate
 * checked, it sends its hello; the accepting side checks the claimed name against what the peer
 * proved, answers with the version it chose, and only then hands the connection to the engine.
 * A side that refuses sends an error frame with the reason and closes, so both logs say why.
 */
public final class ConnectionHandler extends ChannelDuplexHandler {
  private static final Logger LOG = LoggerFactory.getLogger("io.replica.transport.netty");
  /** A logger of its own, so that a program that shows the decisions itself can mute it. */
  private static final Logger DECISIONS =
      LoggerFactory.getLogger("io.replica.transport.netty.connections");

  private enum State { SECURING, SASL, AWAIT_HELLO, OPEN, CLOSED }

  /** What a hello may claim: a DNS name or an address literal, nothing a log could misread. */
  private static final java.util.regex.Pattern HOST_NAME =
      java.util.regex.Pattern.compile("[A-Za-z0-9._:-]{0,255}");

  private final ChannelSettings settings;
  private final PeerAuthenticator authenticator;
  private final boolean client;
  private final Endpoint remote;
  private final boolean compressionWanted;
  private final @Nullable Function<Connection, MessageHandler> handlers;
  private final @Nullable MessageHandler clientHandler;
  private final @Nullable CompletableFuture<Connection> connected;
  /** The accepting side's place among unauthenticated connections, until the hello admits it. */
  private final Admission.@Nullable Slot slot;

  private State state = State.SECURING;
  private @Nullable ChannelHandlerContext ctx;
  private @Nullable NettyConnection connection;
  private @Nullable Throwable failure;
  private @Nullable SaslSession sasl;
  /** Whether this connection's refusal or failure has been logged already. */
  private boolean logged;
  /** Whether the accepting side has told its decision about this connection. */
  private boolean decided;
  private long heartbeats;
  /** When this connecting side sent its hello, for comparing clocks with the answer. */
  private java.time.Instant helloSent = java.time.Instant.EPOCH;
  private final InboundFlow inbound;

  private ConnectionHandler(
      ChannelSettings settings, PeerAuthenticator authenticator, boolean client, Endpoint remote,
      boolean compressionWanted, @Nullable Function<Connection, MessageHandler> handlers,
      @Nullable MessageHandler clientHandler, @Nullable CompletableFuture<Connection> connected,
      Admission.@Nullable Slot slot) {
    this.settings = settings;
    this.authenticator = authenticator;
    this.client = client;
    this.remote = remote;
    this.compressionWanted = compressionWanted;
    this.handlers = handlers;
    this.clientHandler = clientHandler;
    this.connected = connected;
    this.slot = slot;
    this.inbound = new InboundFlow(settings.inFlightBytesMax());
  }

  /** The handler of a connection this side opens to {@code remote}. */
  public static ConnectionHandler connecting(
      ChannelSettings settings, PeerAuthenticator authenticator, Endpoint remote,
      boolean compression, MessageHandler handler, CompletableFuture<Connection> connected) {
    return new ConnectionHandler(
        settings, authenticator, true, remote, compression, null, handler, connected, null);
  }

  /** The handler of a connection accepted from {@code remote}, outside any admission bound. */
  public static ConnectionHandler accepting(
      ChannelSettings settings, PeerAuthenticator authenticator, Endpoint remote,
      boolean compression, Function<Connection, MessageHandler> handlers) {
    return accepting(settings, authenticator, remote, compression, handlers, null);
  }

  /**
   * The handler of a connection accepted from {@code remote} that holds {@code slot} among the
   * unauthenticated connections until its hello is admitted or it closes.
   */
  public static ConnectionHandler accepting(
      ChannelSettings settings, PeerAuthenticator authenticator, Endpoint remote,
      boolean compression, Function<Connection, MessageHandler> handlers,
      Admission.@Nullable Slot slot) {
    return new ConnectionHandler(
        settings, authenticator, false, remote, compression, handlers, null, null, slot);
  }

  private String who() {
    return client ? "replica server " + remote : "peer " + remote;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) throws Exception {
    long deadline = settings.handshakeTimeout().toMillis();
    ctx.executor().schedule(() -> {
      if (state != State.OPEN && state != State.CLOSED) {
        fail(ctx, new IOException("the handshake with " + who() + " did not complete within "
            + settings.handshakeTimeout().toMillis() + " ms (authentication and hello; a peer"
            + " that proves nothing in time is closed)"), false);
      }
    }, deadline, TimeUnit.MILLISECONDS);
    if (!authenticator.tls()) {
      secured(ctx);
    }
    super.channelActive(ctx);
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
    if (evt instanceof SslHandshakeCompletionEvent) {
      SslHandshakeCompletionEvent done = (SslHandshakeCompletionEvent) evt;
      if (state != State.SECURING) {
        return;
      }
      if (done.isSuccess()) {
        secured(ctx);
      } else {
        fail(ctx, new IOException("TLS handshake with " + who() + " failed: "
            + describe(done.cause()) + " (check that both sides have a certificate and key, and"
            + " that this port expects TLS)", done.cause()), false);
      }
      return;
    }
    if (evt instanceof IdleStateEvent) {
      IdleStateEvent idle = (IdleStateEvent) evt;
      if (idle.state() == IdleState.WRITER_IDLE && state == State.OPEN) {
        ctx.writeAndFlush(new Frame.Heartbeat(++heartbeats));
      } else if (idle.state() == IdleState.READER_IDLE && ctx.channel().config().isAutoRead()) {
        // (Not while this side stopped reading itself because its handler is behind.)
        long silentMs = settings.heartbeat().multipliedBy(3).toMillis();
        fail(ctx, new IOException("nothing heard from " + who() + " for "
            + (silentMs % 1000 == 0 ? silentMs / 1000 + " s" : silentMs + " ms") + "; the connection is presumed"
            + " dead (the engine reconnects)"), false);
      }
      return;
    }
    super.userEventTriggered(ctx, evt);
  }

  private void secured(ChannelHandlerContext ctx) {
    try {
      authenticator.checkChannel(ctx.channel(), client, remote);
    } catch (PeerAuthenticator.Rejection r) {
      reject(ctx, r.getMessage());
      return;
    }
    try {
      sasl = authenticator.sasl(client, remote);
    } catch (PeerAuthenticator.Rejection r) {
      reject(ctx, r.getMessage());
      return;
    }
    if (sasl != null) {
      state = State.SASL;
      if (client) {
        byte[] first;
        try {
          first = sasl.start();
        } catch (PeerAuthenticator.Rejection r) {
          reject(ctx, r.getMessage());
          return;
        }
        ctx.writeAndFlush(new Frame.Sasl(false, first));
      }
      return;
    }
    authenticated(ctx);
  }

  /** The peer is authenticated: the hello exchange starts. */
  private void authenticated(ChannelHandlerContext ctx) {
    state = State.AWAIT_HELLO;
    if (client) {
      int features = (compressionWanted ? WireFormat.FEATURE_ZSTD : 0) | WireFormat.FEATURE_CLOCK;
      helloSent = java.time.Instant.now();
      ctx.writeAndFlush(new Frame.Hello(
          WireFormat.VERSION_MIN, WireFormat.VERSION_MAX, features, settings.hostName()));
    }
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof Frame)) {
      io.netty.util.ReferenceCountUtil.release(msg);
      fail(ctx, new ProtocolException("unexpected object in the pipeline: " + msg), true);
      return;
    }
    Frame frame = (Frame) msg;
    if (frame instanceof Frame.Error) {
      Frame.Error e = (Frame.Error) frame;
      // The reason is the peer's text: escaped, capped and marked as such wherever it goes.
      String text = who() + " closed the connection: " + WireFormat.errorName(e.code()) + ", "
          + PeerText.said(e.reason());
      LOG.warn("{}", text);
      logged = true;
      fail(ctx, e.code() == WireFormat.ERROR_AUTHENTICATION
          ? new io.replica.transport.netty.AuthenticationException(text,
              PeerText.escaped(e.reason()), true)
          : new ProtocolException(text), false);
      return;
    }
    switch (state) {
      case SECURING:
        violation(ctx, "a frame arrived before the connection was secured");
        return;
      case SASL:
        if (!(frame instanceof Frame.Sasl)) {
          violation(ctx, "expected a SASL frame during Kerberos authentication, got "
              + kind(frame));
          return;
        }
        saslStep(ctx, (Frame.Sasl) frame);
        return;
      case AWAIT_HELLO:
        if (!(frame instanceof Frame.Hello)) {
          violation(ctx, "the first frame must be a hello, got " + kind(frame));
          return;
        }
        hello(ctx, (Frame.Hello) frame);
        return;
      case OPEN:
        if (frame instanceof Frame.Heartbeat) {
          if (connection != null) {
            connection.heartbeatReceived();
          }
          return;
        }
        if (frame instanceof Frame.Hello) {
          violation(ctx, "a second hello arrived");
          return;
        }
        inbound.deliver(ctx.channel(), java.util.Objects.requireNonNull(connection),
            ((Frame.Data) frame).message());
        return;
      default:
        // Closed: drop what still arrives.
    }
  }

  private void saslStep(ChannelHandlerContext ctx, Frame.Sasl frame) {
    SaslSession session = java.util.Objects.requireNonNull(sasl);
    try {
      if (client) {
        if (frame.done()) {
          if (frame.token().length > 0 && !session.complete()) {
            session.evaluate(frame.token());
          }
          if (!session.complete()) {
            throw new PeerAuthenticator.Rejection("the replica server ended the Kerberos"
                + " exchange before this host could verify it (mutual authentication failed)");
          }
          securityLayer(ctx, session);
          authenticated(ctx);
          return;
        }
        byte[] answer = session.evaluate(frame.token());
        ctx.writeAndFlush(new Frame.Sasl(false, answer == null ? new byte[0] : answer));
        return;
      }
      if (frame.done()) {
        violation(ctx, "a primary sent a SASL frame marked done");
        return;
      }
      byte[] answer = session.evaluate(frame.token());
      if (session.complete()) {
        ctx.writeAndFlush(new Frame.Sasl(true, answer == null ? new byte[0] : answer));
        securityLayer(ctx, session);
        authenticated(ctx);
      } else {
        ctx.writeAndFlush(new Frame.Sasl(false, answer == null ? new byte[0] : answer));
      }
    } catch (PeerAuthenticator.Rejection r) {
      reject(ctx, r.getMessage());
    }
  }

  /** Puts the negotiated SASL security layer below the frame codec. */
  private static void securityLayer(ChannelHandlerContext ctx, SaslSession session) {
    if (session.wraps()) {
      ctx.pipeline().addBefore("decoder", "sasl-layer", new SaslWrapCodec(session));
    }
  }

  private static String kind(Frame frame) {
    return frame instanceof Frame.Data
        ? ((Frame.Data) frame).message().getClass().getSimpleName()
        : frame.getClass().getSimpleName();
  }

  private void hello(ChannelHandlerContext ctx, Frame.Hello hello) {
    if (!HOST_NAME.matcher(hello.hostName()).matches()) {
      violation(ctx, "the hello claims the host name " + PeerText.quoted(hello.hostName())
          + ", which is not a host name (letters, digits, '.', '-', '_', ':', at most 255)");
      return;
    }
    int version = client ? versionChosenByServer(ctx, hello) : versionForPrimary(ctx, hello);
    if (version < 0) {
      return;
    }
    String identity;
    try {
      identity = authenticator.identity(ctx.channel(), client, remote, hello.hostName(), sasl)
          .toLowerCase(Locale.ROOT);
    } catch (PeerAuthenticator.Rejection r) {
      reject(ctx, r.getMessage());
      return;
    }
    if (!client) {
      java.util.Optional<String> refusal = settings.authorizer().apply(identity);
      if (refusal.isPresent()) {
        reject(ctx, identity, refusal.get());
        return;
      }
    }
    boolean compress = (hello.features() & WireFormat.FEATURE_ZSTD) != 0 && compressionWanted;
    if (compress) {
      ctx.pipeline().get(FrameEncoder.class).enableCompression(settings.compressionLevel());
    }
    state = State.OPEN;
    opened(ctx);
    if (client) {
      openToServer(ctx, hello, identity, compress);
    } else {
      openFromPrimary(ctx, hello, version, identity, compress);
    }
  }

  /**
   * The connecting side checks the version the server's answer chose; -1 when it refused (the
   * connection is closing).
   */
  private int versionChosenByServer(ChannelHandlerContext ctx, Frame.Hello hello) {
    int version = hello.versionMax();
    if (hello.versionMin() != hello.versionMax() || version < WireFormat.VERSION_MIN
        || version > WireFormat.VERSION_MAX) {
      sendErrorAndClose(ctx, WireFormat.ERROR_VERSION, "the replica server chose protocol"
          + " version " + version + ", this host speaks " + WireFormat.VERSION_MIN + ".."
          + WireFormat.VERSION_MAX, true);
      return -1;
    }
    return version;
  }

  /**
   * The accepting side chooses the highest version both speak; -1 when there is none (the
   * connection is closing).
   */
  private int versionForPrimary(ChannelHandlerContext ctx, Frame.Hello hello) {
    int version = Math.min(hello.versionMax(), WireFormat.VERSION_MAX);
    if (version < Math.max(hello.versionMin(), WireFormat.VERSION_MIN)
        || hello.versionMin() > hello.versionMax()) {
      sendErrorAndClose(ctx, WireFormat.ERROR_VERSION, "the primary speaks protocol versions "
          + hello.versionMin() + ".." + hello.versionMax() + ", this replica server "
          + WireFormat.VERSION_MIN + ".." + WireFormat.VERSION_MAX + " (upgrade the older"
          + " host)", true);
      return -1;
    }
    return version;
  }

  /**
   * The server's answer admitted this side: the connection goes to the caller of connect, with
   * the server's clock compared to this one when the answer tells it.
   */
  private void openToServer(
      ChannelHandlerContext ctx, Frame.Hello hello, String identity, boolean compress) {
    MessageHandler handler = java.util.Objects.requireNonNull(clientHandler);
    NettyConnection c = new NettyConnection(ctx.channel(), remote, identity, handler,
        settings.mailboxes().acquire(handler), settings.inFlightBytesMax(), compress,
        settings.compressionLevel());
    connection = c;
    c.security(security(ctx));
    if (hello.clock().isPresent()) {
      java.time.Instant now = java.time.Instant.now();
      java.time.Duration roundTrip = java.time.Duration.between(helloSent, now);
      c.peerClock(java.time.Duration.between(helloSent.plus(roundTrip.dividedBy(2)), hello.clock().get()),
          roundTrip.dividedBy(2));
    }
    CompletableFuture<Connection> done = java.util.Objects.requireNonNull(connected);
    c.executor.execute(() -> {
      if (!done.complete(c)) {
        c.close();
      }
    });
  }

  /**
   * This side admitted the primary: it answers with the version it chose (and its clock when
   * asked), and the listener's factory gives the connection its handler, or refuses it.
   */
  private void openFromPrimary(ChannelHandlerContext ctx, Frame.Hello hello, int version,
      String identity, boolean compress) {
    String security = security(ctx);
    boolean clock = (hello.features() & WireFormat.FEATURE_CLOCK) != 0;
    ctx.writeAndFlush(new Frame.Hello(version, version,
        (compress ? WireFormat.FEATURE_ZSTD : 0) | (clock ? WireFormat.FEATURE_CLOCK : 0), settings.hostName(),
        clock ? java.util.Optional.of(java.time.Instant.now()) : java.util.Optional.empty()));
    NettyConnection pending = new NettyConnection(ctx.channel(), remote, identity, null, null,
        settings.inFlightBytesMax(), compress, settings.compressionLevel());
    MessageHandler handler;
    try {
      handler = java.util.Objects.requireNonNull(handlers).apply(pending);
    } catch (RuntimeException e) {
      LOG.error("refused connection from {} ('{}'): the listener's handler factory threw",
          remote, identity, e);
      logged = true;
      String reason = "the replica server could not accept the connection: " + e;
      decide(false, identity, reason, false);
      sendErrorAndClose(ctx, WireFormat.ERROR_INTERNAL, reason, false);
      return;
    }
    if (handler == null) {
      String reason = "the replica server refused the connection";
      decide(false, identity, reason + " (its handler factory gave no handler)", true);
      logged = true;
      sendErrorAndClose(ctx, WireFormat.ERROR_INTERNAL, reason, false);
      return;
    }
    pending.attach(handler, settings.mailboxes().acquire(handler));
    pending.security(security);
    connection = pending;
    decide(true, identity, "protocol " + version + ", " + security + ", compression "
        + (compress ? "zstd" : "off"), true);
  }

  /**
   * The hello exchange admitted the peer: frames of full size from now on, the next frame
   * included, and the connection no longer counts as unauthenticated.
   */
  private void opened(ChannelHandlerContext ctx) {
    FrameDecoder decoder = ctx.pipeline().get(FrameDecoder.class);
    if (decoder != null) {
      decoder.open();
    }
    SaslWrapCodec wrap = ctx.pipeline().get(SaslWrapCodec.class);
    if (wrap != null) {
      wrap.open();
    }
    if (slot != null) {
      slot.release();
    }
  }

  /**
   * Reads and decodes nothing more from a connection this side refused or gave up: what the peer
   * still sends costs no buffer, no allocation and no decompression.
   */
  private static void stopReading(ChannelHandlerContext ctx) {
    ctx.channel().config().setAutoRead(false);
    FrameDecoder decoder = ctx.pipeline().get(FrameDecoder.class);
    if (decoder != null) {
      decoder.stop();
    }
  }

  /**
   * The accepting side's one decision about this connection: logged as one line (unless {@code
   * log} is false because it was logged otherwise) and given to the transport's listener.
   */
  private void decide(boolean accepted, @Nullable String identity, String reason, boolean log) {
    if (client || decided) {
      return;
    }
    decided = true;
    ConnectionDecision d = new ConnectionDecision(remote, identity, accepted, reason);
    if (log && accepted) {
      DECISIONS.info("{}", d.describe());
    } else if (log) {
      DECISIONS.warn("{}", d.describe());
    }
    try {
      settings.decisions().accept(d);
    } catch (RuntimeException e) {
      LOG.error("the connection listener threw on: {}", d.describe(), e);
    }
  }

  private String security(ChannelHandlerContext ctx) {
    io.netty.handler.ssl.SslHandler ssl = ctx.pipeline().get(io.netty.handler.ssl.SslHandler.class);
    if (ssl != null) {
      javax.net.ssl.SSLSession s = ssl.engine().getSession();
      return s.getProtocol() + " " + s.getCipherSuite();
    }
    SaslSession session = sasl;
    if (session != null) {
      return "Kerberos " + session.qop();
    }
    return "plain (unauthenticated)";
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) throws Exception {
    NettyConnection c = connection;
    if (c != null && state == State.OPEN && ctx.channel().isWritable()) {
      inbound.writable(c);
    }
    super.channelWritabilityChanged(ctx);
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    Throwable root = cause;
    if (root instanceof DecoderException && root.getCause() != null) {
      root = root.getCause();
    }
    if (root instanceof ProtocolViolation) {
      ProtocolViolation v = (ProtocolViolation) root;
      if (state != State.CLOSED) {
        settings.admission().protocolError();
      }
      LOG.warn("closing the connection with {}: protocol error: {}", remote, v.getMessage());
      logged = true;
      recordFailure(new ProtocolException("protocol error from " + who() + ": "
          + v.getMessage() + " (the connection was closed; the engine reconnects)"));
      sendErrorAndClose(ctx, v.code(), v.getMessage(), false);
      return;
    }
    if (state == State.SECURING && root instanceof SSLException) {
      fail(ctx, new IOException("TLS handshake with " + who() + " failed: " + describe(root),
          root), false);
      return;
    }
    fail(ctx, new IOException("connection with " + who() + " failed: "
        + (root instanceof IOException ? describe(root) : root.toString())
        + " (the engine reconnects)", root), false);
  }

  private void violation(ChannelHandlerContext ctx, String what) {
    exceptionCaught(ctx, new ProtocolViolation(what));
  }

  private void reject(ChannelHandlerContext ctx, String reason) {
    reject(ctx, null, reason);
  }

  private void reject(ChannelHandlerContext ctx, @Nullable String identity, String reason) {
    String text = client
        ? "rejected " + who() + ": " + reason
        : "rejected connection from " + remote + ": " + reason;
    if (client) {
      LOG.warn("{}", text);
    } else {
      decide(false, identity, reason, true);
    }
    logged = true;
    recordFailure(new io.replica.transport.netty.AuthenticationException(text, reason, false));
    sendErrorAndClose(ctx, WireFormat.ERROR_AUTHENTICATION, reason, false);
  }

  private void sendErrorAndClose(
      ChannelHandlerContext ctx, int code, String reason, boolean record) {
    if (record) {
      recordFailure(new ProtocolException(reason));
    }
    State before = state;
    state = State.CLOSED;
    stopReading(ctx);
    if (before == State.CLOSED || !ctx.channel().isActive()) {
      ctx.close();
      return;
    }
    ctx.writeAndFlush(new Frame.Error(code, reason)).addListener(ChannelFutureListener.CLOSE);
    ctx.executor().schedule(() -> ctx.close(), 5, TimeUnit.SECONDS);
  }

  private void recordFailure(Throwable cause) {
    if (failure == null) {
      failure = Causes.scrub(cause);
    }
  }

  private void fail(ChannelHandlerContext ctx, Throwable cause, boolean sendError) {
    recordFailure(cause);
    if (sendError) {
      sendErrorAndClose(ctx, WireFormat.ERROR_PROTOCOL, cause.getMessage(), false);
    } else {
      state = State.CLOSED;
      stopReading(ctx);
      ctx.close();
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    state = State.CLOSED;
    if (slot != null) {
      slot.release();
    }
    if (sasl != null) {
      sasl.dispose();
    }
    NettyConnection c = connection;
    Throwable cause = failure;
    if (c == null) {
      if (connected != null) {
        connected.completeExceptionally(cause != null ? cause : new IOException(
            "replica server " + remote + " closed the connection during the handshake (is it a"
                + " replica server, and does it accept this host?)"));
      } else {
        // One decision for every refused connection, also when TLS itself failed.
        decide(false, null, cause == null ? "it closed before authenticating"
            : String.valueOf(cause.getMessage()), !logged);
      }
    } else {
      c.closed(cause, settings.mailboxes());
    }
    super.channelInactive(ctx);
  }

  private static String describe(@Nullable Throwable t) {
    if (t == null) {
      return "unknown cause";
    }
    String m = t.getMessage();
    return m == null ? t.getClass().getSimpleName() : m;
  }

  /** Closes the channel gracefully after what was written (used by Connection.close). */
  static void closeAfterFlush(io.netty.channel.Channel channel) {
    channel.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
    channel.eventLoop().schedule(() -> channel.close(), 10, TimeUnit.SECONDS);
  }
}
