package io.replica.transport.netty.internal.handler;

import io.replica.transport.netty.ConnectionDecision;
import java.time.Duration;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * What every connection of one transport shares.
 *
 * @param hostName the name this host claims in its hello
 * @param compressionLevel zstd level for block payloads when a connection compresses
 * @param heartbeat how long a side stays quiet before it sends a heartbeat; a peer quiet for
 *     three times as long is presumed dead
 * @param inFlightBytesMax the bound on bytes queued per direction of a connection
 * @param mailboxes where handler callbacks run
 * @param authorizer for an authenticated primary's identity, why it is refused (empty: admitted)
 * @param decisions told whether each incoming connection was accepted or refused, and why
 * @param handshakeTimeout how long a connection may take from accept or connect to the end of
 *     its hello exchange
 * @param admission the bound on unauthenticated connections and the transport's counters
 */
public record ChannelSettings(
    String hostName, int compressionLevel, Duration heartbeat, long inFlightBytesMax,
    Mailboxes mailboxes, Function<String, Optional<String>> authorizer,
    Consumer<ConnectionDecision> decisions, Duration handshakeTimeout, Admission admission) {

  /** Settings that admit every authenticated peer. */
  public ChannelSettings(String hostName, int compressionLevel, Duration heartbeat,
      long inFlightBytesMax, Mailboxes mailboxes) {
    this(hostName, compressionLevel, heartbeat, inFlightBytesMax, mailboxes,
        identity -> Optional.empty(), decision -> { }, Duration.ofSeconds(30),
        Admission.unbounded());
  }
}
