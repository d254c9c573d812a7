package io.replica.transport.netty.internal.handler;

import io.netty.channel.Channel;
import io.replica.spi.transport.Endpoint;
import org.jspecify.annotations.Nullable;

/**
 * No authentication: the peer is who its hello says it is. For tests and for networks that are
 * secured otherwise (a VPN); never a security boundary.
 */
public final class PlainAuthenticator implements PeerAuthenticator {

  @Override
  public boolean tls() {
    return false;
  }

  @Override
  public void checkChannel(Channel channel, boolean client, Endpoint remote) {}

  @Override
  public String identity(Channel channel, boolean client, Endpoint remote, String claimedHost,
      @Nullable SaslSession sasl) throws Rejection {
    if (claimedHost.isBlank()) {
      throw new Rejection("the peer's hello names no host");
    }
    return claimedHost;
  }
}
