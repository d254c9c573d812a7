package io.replica.spi.transport;

import java.util.Locale;

/**
 * A host name and port a transport listens on or connects to.
 *
 * @param host a DNS name or address, not empty
 * @param port 0 to 65535 (0 lets a listener pick a free port)
 */
public record Endpoint(String host, int port) {

  /** @throws IllegalArgumentException if the host is blank or the port out of range */
  public Endpoint {
    if (host.isBlank()) {
      throw new IllegalArgumentException("endpoint host is blank; give a DNS name or address");
    }
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException(
          "endpoint port " + port + " for host '" + host + "' is out of range 0-65535");
    }
    host = host.toLowerCase(Locale.ROOT);
  }

  @Override
  public String toString() {
    return host.indexOf(':') >= 0 ? "[" + host + "]:" + port : host + ":" + port;
  }
}
