package io.replica.transport.netty.internal.handler;

import io.netty.channel.Channel;
import io.replica.spi.transport.Connection;
import io.replica.spi.transport.Endpoint;
import io.replica.spi.transport.Message;
import io.replica.spi.transport.MessageHandler;
import io.replica.transport.netty.internal.codec.Frame;
import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import org.jspecify.annotations.Nullable;

/**
 * A {@link Connection} over one Netty channel. {@code send} hands the message to the event loop
 * and returns; the frame is encoded there. Writability follows the channel's water marks (high at
 * the in-flight bound, low at half of it).
 */
public final class NettyConnection implements Connection {

  /** Bytes counted per message on top of its payload, for the inbound bound. */
  static final int MESSAGE_OVERHEAD_BYTES = 64;

  private final Channel channel;
  private final Endpoint remote;
  private final String peerIdentity;
  private final boolean compressed;
  private final int compressionLevel;
  private volatile String security = "plain";
  private volatile @Nullable MessageHandler handler;
  volatile SerialExecutor executor;
  private volatile boolean open = true;
  private volatile long heartbeatsReceived;
  private volatile java.util.Optional<java.time.Duration> peerClockOffset = java.util.Optional.empty();
  private volatile java.time.Duration peerClockUncertainty = java.time.Duration.ZERO;
  volatile boolean closedDelivered;

  NettyConnection(
      Channel channel, Endpoint remote, String peerIdentity, @Nullable MessageHandler handler,
      @Nullable SerialExecutor executor, long inFlightBytesMax, boolean compressed,
      int compressionLevel) {
    this.channel = channel;
    this.remote = remote;
    this.peerIdentity = peerIdentity;
    this.handler = handler;
    this.executor = executor;
    this.compressed = compressed;
    this.compressionLevel = compressionLevel;
  }

  void attach(MessageHandler handler, SerialExecutor executor) {
    this.handler = handler;
    this.executor = executor;
  }

  MessageHandler handler() {
    return Objects.requireNonNull(handler);
  }

  /** Bytes a queued frame counts for writability: the payload as it will travel. */
  static long sizeOf(Frame.Data frame) {
    Frame.Packed p = frame.packed();
    if (p != null && p.zstd() != null) {
      return MESSAGE_OVERHEAD_BYTES + p.zstd().length;
    }
    return sizeOf(frame.message());
  }

  static long sizeOf(Message message) {
    return MESSAGE_OVERHEAD_BYTES + (message instanceof Message.BlockData
        ? ((Message.BlockData) message).data().length : 0);
  }

  /** Heartbeats the peer sent over this connection so far: a sign of life while nothing else travels. */
  public long heartbeatsReceived() {
    return heartbeatsReceived;
  }

  /**
   * How far the accepting side's wall clock was ahead of this side's (negative: behind) when the
   * connection opened, give or take {@link #peerClockUncertainty()}; empty when the peer did not
   * tell its clock (a build before it could, or this side accepted the connection).
   */
  public java.util.Optional<java.time.Duration> peerClockOffset() {
    return peerClockOffset;
  }

  /** Half the round trip of the hello exchange: how wrong {@link #peerClockOffset()} can be. */
  public java.time.Duration peerClockUncertainty() {
    return peerClockUncertainty;
  }

  void peerClock(java.time.Duration offset, java.time.Duration uncertainty) {
    peerClockOffset = java.util.Optional.of(offset);
    peerClockUncertainty = uncertainty;
  }

  void heartbeatReceived() {
    heartbeatsReceived++; // only the channel's event loop writes it
  }

  void security(String security) {
    this.security = security;
  }

  /**
   * How the connection is protected, for logs and the test-connection command: the TLS version
   * and cipher suite, the Kerberos quality of protection, or "plain (unauthenticated)".
   */
  public String security() {
    return security;
  }

  /** Whether block payloads travel zstd-compressed on this connection. */
  public boolean compressed() {
    return compressed;
  }

  @Override
  public Endpoint remote() {
    return remote;
  }

  @Override
  public String peerIdentity() {
    return peerIdentity;
  }

  @Override
  public CompletableFuture<Void> send(Message message) {
    Objects.requireNonNull(message, "message");
    if (!open) {
      return CompletableFuture.failedFuture(new ClosedChannelException() {
        private static final long serialVersionUID = 1L;

        @Override
        public String getMessage() {
          return "cannot send " + message + " to " + remote + " ('" + peerIdentity + "'): the"
              + " connection is closed; reconnect and resume from the last acknowledged cycle";
        }
      });
    }
    CompletableFuture<Void> sent = new CompletableFuture<>();
    Frame.Data frame;
    if (compressed && message instanceof Message.BlockData) {
      // Compress here, on the sender's thread: the event loop then only frames, encrypts and
      // writes, and several senders compress in parallel.
      frame = new Frame.Data(message, io.replica.transport.netty.internal.codec.FrameEncoder.pack(
          ((Message.BlockData) message).data(), compressionLevel));
    } else {
      frame = new Frame.Data(message);
    }
    channel.writeAndFlush(frame).addListener(f -> {
      if (f.isSuccess()) {
        sent.complete(null);
      } else {
        Throwable cause = f.cause();
        if (cause instanceof io.netty.handler.codec.EncoderException
            && cause.getCause() != null) {
          cause = cause.getCause();
        }
        if (cause instanceof IllegalArgumentException) {
          sent.completeExceptionally(new IllegalArgumentException(cause.getMessage()));
        } else {
          sent.completeExceptionally(new IOException("could not send " + message + " to "
              + remote + " ('" + peerIdentity + "'): " + cause.getMessage()
              + " (reconnect and resume)"));
        }
      }
    });
    return sent;
  }

  @Override
  public boolean isWritable() {
    return open && channel.isWritable();
  }

  @Override
  public boolean isOpen() {
    return open && channel.isActive();
  }

  @Override
  public void close() {
    if (open) {
      open = false;
      ConnectionHandler.closeAfterFlush(channel);
    }
  }

  /** The channel closed: tell the handler once, after every message queued for it. */
  void closed(@Nullable Throwable cause, Mailboxes mailboxes) {
    open = false;
    MessageHandler h = handler;
    SerialExecutor e = executor;
    if (h == null || e == null) {
      return;
    }
    e.execute(() -> {
      if (closedDelivered) {
        return;
      }
      closedDelivered = true;
      try {
        h.onClosed(this, cause);
      } finally {
        mailboxes.release(h, e);
      }
    });
  }

  @Override
  public String toString() {
    return "connection with " + remote + " ('" + peerIdentity + "')";
  }
}
