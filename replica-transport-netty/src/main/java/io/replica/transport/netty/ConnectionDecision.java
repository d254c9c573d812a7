package io.replica.transport.netty;

import io.replica.spi.transport.Endpoint;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * What a replica server decided about one incoming connection: accepted, and handed to the
 * engine, or refused before the engine saw it. The transport logs each decision as {@link
 * #describe()} and gives it to the listener set with {@link
 * NettyTransport.Builder#connectionListener}.
 *
 * @param remote the address and port the peer connected from
 * @param identity the host name the peer proved, or null if it was refused before proving one
 * @param accepted whether the connection went on to the engine
 * @param reason for a refusal, why (the peer was told the same); for an accepted connection, the
 *     protocol version, security and compression it uses
 */
public record ConnectionDecision(Endpoint remote, @Nullable String identity, boolean accepted,
    String reason) {

  /**
   * @throws NullPointerException if {@code remote} or {@code reason} is null
   */
  public ConnectionDecision {
    Objects.requireNonNull(remote, "remote");
    Objects.requireNonNull(reason, "reason");
  }

  /** The line the transport logs for it. */
  public String describe() {
    return accepted
        ? "accepted connection from " + remote + " as '" + identity + "' (" + reason + ")"
        : "rejected connection from " + remote + ": " + reason;
  }
}
