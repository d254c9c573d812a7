package io.replica.testkit.memory;

import io.replica.api.AuthenticationType;
import io.replica.spi.transport.Connection;
import io.replica.spi.transport.ConnectOptions;
import io.replica.spi.transport.Endpoint;
import io.replica.spi.transport.MessageHandler;
import io.replica.spi.transport.Transport;
import java.io.IOException;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/**
 * The transport of one host on an {@link InMemoryNetwork}. Its state lives under the network's
 * lock; the logic is in the network, which sees both ends of every connection.
 */
final class InMemoryTransport implements Transport {
  final InMemoryNetwork network;
  final String host;
  private final Set<AuthenticationType> authenticationTypes;

  // Guarded by network.lock.
  boolean closed;
  final Set<InMemoryListener> listeners = new LinkedHashSet<>();
  /** This host's connection ends that have not had onClosed posted yet. */
  final Set<InMemoryConnection> connections = new LinkedHashSet<>();

  InMemoryTransport(
      InMemoryNetwork network, String host, Set<AuthenticationType> authenticationTypes) {
    this.network = network;
    this.host = host;
    this.authenticationTypes = authenticationTypes;
  }

  /** The types given to {@link InMemoryNetwork#transport(String, Set)}; both by default. */
  @Override
  public Set<AuthenticationType> authenticationTypes() {
    return authenticationTypes;
  }

  /** Always false: the in-memory transport never compresses, and refuses connections that ask to. */
  @Override
  public boolean supportsCompression() {
    return false;
  }

  @Override
  public Listener listen(
      Endpoint local, AuthenticationType authentication,
      Function<Connection, MessageHandler> handlers) throws IOException {
    return network.listen(this, local, authentication, handlers);
  }

  @Override
  public CompletableFuture<Connection> connect(
      Endpoint remote, ConnectOptions options, MessageHandler handler) {
    return network.connect(this, remote, options, handler);
  }

  @Override
  public void close() {
    network.close(this);
  }

  @Override
  public String toString() {
    return "in-memory transport of host '" + host + "'";
  }
}
