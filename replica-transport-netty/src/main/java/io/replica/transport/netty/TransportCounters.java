package io.replica.transport.netty;

/**
 * What a {@link NettyTransport} counted since it was built, from {@link
 * NettyTransport#counters()}: a snapshot for monitoring the replica server's port, which anyone
 * who can reach it can probe.
 *
 * @param unauthenticated connections that have not finished their handshake now
 * @param refusedUnauthenticated connections closed at once because too many were unauthenticated
 *     (in all or from their address, see {@link
 *     NettyTransport.Builder#unauthenticatedConnectionsMax})
 * @param protocolErrors connections closed because the peer broke the wire protocol (malformed
 *     frames, bad compressed data, frames out of order), each after an error frame to the peer
 */
public record TransportCounters(int unauthenticated, long refusedUnauthenticated,
    long protocolErrors) {}
