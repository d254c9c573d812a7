package io.replica.host.nbd;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.ssl.SslContext;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client: the Netty handler that gathers its bytes and hands them to the phase it is in,
 * {@link NbdNegotiation} until the client chose an export (NBD_OPT_GO or NBD_OPT_EXPORT_NAME),
 * then {@link NbdTransmission}. Parsing and all state live on the channel's event loop; disk I/O
 * runs on the server's executor through {@link SerialTasks}. Every length is checked before
 * anything is allocated.
 */
final class NbdConnection extends ChannelInboundHandlerAdapter {
  private static final Logger LOG = LoggerFactory.getLogger(NbdConnection.class);

  private final NbdServer server;
  private final @Nullable SslContext tlsContext;
  private final SerialTasks tasks;
  private final long maxInFlightBytes;
  private final Duration negotiationTimeout;
  private ChannelHandlerContext ctx;
  private String peer = "?";
  private @Nullable ByteBuf input;
  private boolean processing;
  private boolean done;
  private long discardBytes;
  private @Nullable Runnable afterDiscard;
  private @Nullable NbdNegotiation negotiation;
  private volatile @Nullable NbdTransmission transmission;
  private @Nullable ScheduledFuture<?> negotiationDeadline;

  NbdConnection(NbdServer server, @Nullable SslContext tlsContext, SerialTasks tasks,
      long maxInFlightBytes, Duration negotiationTimeout) {
    this.server = server;
    this.tlsContext = tlsContext;
    this.tasks = tasks;
    this.maxInFlightBytes = maxInFlightBytes;
    this.negotiationTimeout = negotiationTimeout;
  }

  /** Closes the connection (from any thread); its queued I/O finishes without touching the disk. */
  void close() {
    ctx.channel().close();
  }

  /** Whether the server has stopped reading from this client until replies have gone out. */
  boolean paused() {
    NbdTransmission t = transmission;
    return t != null && t.paused();
  }

  /** The most bytes of requests this connection had in flight at once. */
  long inFlightHighWaterBytes() {
    NbdTransmission t = transmission;
    return t == null ? 0 : t.inFlightHighWaterBytes();
  }

  /** Completes when the connection is closed and no I/O of it runs any more. */
  CompletableFuture<Void> closed() {
    CompletableFuture<Void> f = new CompletableFuture<>();
    ctx.channel().closeFuture().addListener(
        x -> tasks.close().whenComplete((v, e) -> f.complete(null)));
    return f;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
    this.peer = String.valueOf(ctx.channel().remoteAddress());
    this.negotiation = new NbdNegotiation(this, server, tlsContext);
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    negotiation.greet();
    // A client that connects and never chooses an export holds a socket for nothing.
    negotiationDeadline = ctx.executor().schedule(() -> {
      if (transmission == null && !done) {
        violation("it did not choose an export within " + negotiationTimeout.toMillis()
            + " ms of connecting");
      }
    }, negotiationTimeout.toNanos(), TimeUnit.NANOSECONDS);
    ctx.fireChannelActive();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    done = true;
    if (negotiationDeadline != null) {
      negotiationDeadline.cancel(false);
    }
    if (input != null) {
      input.release();
      input = null;
    }
    NbdTransmission t = transmission;
    if (t != null) {
      t.export().detach(this);
    }
    tasks.close();
    ctx.fireChannelInactive();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    // Causes from the TLS layer or the socket; their text is ours or the JDK's, not the peer's.
    Throwable tls = cause;
    while (tls != null && !(tls instanceof javax.net.ssl.SSLException)) {
      tls = tls.getCause();
    }
    if (tls != null) {
      // The JDK's text may quote the peer's certificate: escaped.
      LOG.warn("NBD client {}: TLS failed: {} (a client needs a certificate issued by a trusted"
          + " CA)", peer, Nbd.printable(String.valueOf(tls.getMessage()), 300));
    } else {
      LOG.debug("NBD connection from {} failed: {}", peer, cause.toString());
    }
    ctx.close();
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    ByteBuf in = (ByteBuf) msg;
    if (done) {
      in.release();
      return;
    }
    input = input == null
        ? in
        : ByteToMessageDecoder.MERGE_CUMULATOR.cumulate(ctx.alloc(), input, in);
    process();
  }

  /** Parses what has arrived, as far as it goes; again when a paused transmission resumes. */
  void process() {
    if (processing) {
      return;
    }
    processing = true;
    try {
      while (input != null && !done && ctx.channel().isActive()) {
        if (discardBytes > 0) {
          int n = (int) Math.min(discardBytes, input.readableBytes());
          input.skipBytes(n);
          discardBytes -= n;
          if (discardBytes > 0) {
            break;
          }
          Runnable then = afterDiscard;
          afterDiscard = null;
          if (then != null) {
            then.run();
          }
          continue;
        }
        NbdTransmission t = transmission;
        boolean progress = t != null ? t.request(input) : negotiation.step(input);
        if (!progress) {
          break;
        }
      }
      if (input != null) {
        if (!input.isReadable() || done) {
          input.release();
          input = null;
        } else if (input.refCnt() == 1) {
          // Compacting moves bytes that a queued write's slice still points at; only when
          // no slice is out.
          input.discardSomeReadBytes();
        }
      }
    } finally {
      processing = false;
    }
  }

  // ---- for the phases

  ChannelHandlerContext ctx() {
    return ctx;
  }

  String peer() {
    return peer;
  }

  SerialTasks tasks() {
    return tasks;
  }

  long maxInFlightBytes() {
    return maxInFlightBytes;
  }

  /**
   * Skips {@code bytes} of input that are too many to keep (framing stays intact), then runs
   * {@code then}; the caller has consumed the header that announced them.
   */
  void discard(long bytes, Runnable then) {
    discardBytes = bytes;
    afterDiscard = then;
  }

  /** The client broke the protocol: says what it did and closes the connection. */
  void violation(String what) {
    LOG.warn("closing the NBD connection from {}: {}", peer, what);
    done = true;
    ctx.close();
  }

  /** The client ends the session (NBD_OPT_ABORT, NBD_CMD_DISC): nothing more is read. */
  void end() {
    done = true;
  }

  /** The client chose an export: from now on its bytes are requests. */
  void enter(NbdTransmission t) {
    transmission = t;
    negotiation = null;
    if (negotiationDeadline != null) {
      negotiationDeadline.cancel(false);
    }
    LOG.debug("NBD client {} uses export '{}'", peer, t.export().name);
  }
}
