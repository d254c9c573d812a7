package io.replica.transport.netty;

import java.io.IOException;

/**
 * A connection was refused during authentication or authorization, by this host or by the peer,
 * with a reason an operator can act on (for example {@code certificate has no clientAuth extended
 * key usage}). The {@code connect} future of {@link NettyTransport} fails with it; {@link
 * #reason()} is the refusing side's own words, as in its log.
 */
public final class AuthenticationException extends IOException {
  private static final long serialVersionUID = 1L;

  private final String reason;
  private final boolean byPeer;

  /**
   * @param message the full message, naming the peer
   * @param reason the refusing side's reason
   * @param byPeer whether the peer refused this host (true) or this host the peer (false)
   */
  public AuthenticationException(String message, String reason, boolean byPeer) {
    super(message);
    this.reason = reason;
    this.byPeer = byPeer;
  }

  /** Why the connection was refused, in the refusing side's words. */
  public String reason() {
    return reason;
  }

  /** Whether the peer refused this host (true), or this host refused the peer (false). */
  public boolean byPeer() {
    return byPeer;
  }
}
