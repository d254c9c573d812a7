package io.replica.transport.netty.internal.handler;

import io.netty.channel.Channel;
import io.replica.spi.transport.Endpoint;
import org.jspecify.annotations.Nullable;

/**
 * Decides who the peer of a channel is. The transport picks one per listener or connection:
 * plain (the hello's name, unauthenticated) or TLS (the certificate's names).
 */
public interface PeerAuthenticator {

  /** Whether the pipeline has an SslHandler whose handshake must finish first. */
  boolean tls();

  /**
   * Checks what the secured channel proved (the peer's certificate chain), before any frame.
   *
   * @param client whether this side connected
   * @param remote the endpoint this side connected to, or the peer's address when accepting
   * @throws Rejection with the reason to log and send to the peer
   */
  void checkChannel(Channel channel, boolean client, Endpoint remote) throws Rejection;

  /**
   * The SASL exchange that authenticates the peer after {@link #checkChannel}, or null if the
   * channel itself proved enough (TLS) or nothing is proven (plain).
   *
   * @throws Rejection if the exchange cannot start (no credentials)
   */
  default @Nullable SaslSession sasl(boolean client, Endpoint remote) throws Rejection {
    return null;
  }

  /**
   * The peer's identity, given the host name its hello claims.
   *
   * @throws Rejection if the proof does not name that host
   */
  String identity(Channel channel, boolean client, Endpoint remote, String claimedHost,
      @Nullable SaslSession sasl) throws Rejection;

  /** Why a peer is refused; the message goes to the log and to the peer. */
  final class Rejection extends Exception {
    private static final long serialVersionUID = 1L;

    public Rejection(String reason) {
      super(reason);
    }
  }
}
