package io.replica.testkit.memory;

import io.replica.api.AuthenticationType;
import io.replica.spi.transport.Connection;
import io.replica.spi.transport.Endpoint;
import io.replica.spi.transport.MessageHandler;
import io.replica.spi.transport.Transport;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.function.Function;

/** A bound endpoint of an {@link InMemoryTransport}; state under the network's lock. */
final class InMemoryListener implements Transport.Listener {
  final InMemoryTransport transport;
  final Endpoint endpoint;
  final AuthenticationType authentication;
  final Function<Connection, MessageHandler> handlers;
  final StorageLeaks.OpenedAt openedAt;

  // Guarded by the network's lock.
  boolean closed;
  /** Accepted ends that have not had onClosed posted yet. */
  final Set<InMemoryConnection> accepted = new LinkedHashSet<>();

  InMemoryListener(
      InMemoryTransport transport, Endpoint endpoint, AuthenticationType authentication,
      Function<Connection, MessageHandler> handlers) {
    this.transport = transport;
    this.endpoint = endpoint;
    this.authentication = authentication;
    this.handlers = handlers;
    this.openedAt = new StorageLeaks.OpenedAt("listener on " + endpoint + " (" + authentication + ")");
  }

  @Override
  public Endpoint endpoint() {
    return endpoint;
  }

  @Override
  public void close() {
    transport.network.close(this);
  }

  @Override
  public String toString() {
    return "in-memory listener on " + endpoint + " (" + authentication + ")";
  }
}
