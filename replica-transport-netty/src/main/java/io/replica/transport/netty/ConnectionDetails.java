package io.replica.transport.netty;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * What a {@link NettyTransport} knows about one of its connections, for diagnostics such as
 * {@code replica test-connection}.
 *
 * @param security how the connection is protected: the TLS version and cipher suite, the Kerberos
 *     quality of protection, or "plain (unauthenticated)"
 * @param peerClockOffset on a connection this side opened, how far the peer's wall clock was ahead
 *     of this host's (negative: behind) when it opened; empty when the peer did not tell its clock
 * @param peerClockUncertainty how wrong {@code peerClockOffset} can be: half the round trip of the
 *     exchange that measured it
 */
public record ConnectionDetails(String security, Optional<Duration> peerClockOffset, Duration peerClockUncertainty) {
  /** Checks that nothing is null. */
  public ConnectionDetails {
    Objects.requireNonNull(security, "security");
    Objects.requireNonNull(peerClockOffset, "peerClockOffset");
    Objects.requireNonNull(peerClockUncertainty, "peerClockUncertainty");
  }
}
