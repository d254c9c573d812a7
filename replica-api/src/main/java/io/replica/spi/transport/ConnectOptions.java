package io.replica.spi.transport;

import io.replica.api.AuthenticationType;

/**
 * How to open a connection to a replica server.
 *
 * @param authentication how this host proves who it is
 * @param compression whether block payloads may travel compressed
 */
public record ConnectOptions(AuthenticationType authentication, boolean compression) {
  public ConnectOptions {
    java.util.Objects.requireNonNull(authentication, "authentication");
  }
}
