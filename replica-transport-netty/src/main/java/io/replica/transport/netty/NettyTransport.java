package io.replica.transport.netty;

/** The replication protocol on Netty. */
public final class NettyTransport {
  private NettyTransport() {}
}
