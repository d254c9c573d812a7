package io.replica.spi.transport;

import io.replica.api.AuthenticationType;
import io.replica.api.event.ReplicationEvent;
import java.io.Closeable;
import java.io.IOException;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * Carries messages between replication managers on different hosts: Netty with TLS or Kerberos
 * between machines, memory inside one process for tests.
 *
 * <p>A transport authenticates peers; the engine authorizes them (the replica server's
 * authorization list), using {@link Connection#peerIdentity()}.
 */
public interface Transport extends Closeable {

  /** The authentication types this transport can perform. */
  Set<AuthenticationType> authenticationTypes();

  /** Whether this transport can compress block payloads. */
  boolean supportsCompression();

  /**
   * Accepts connections on {@code local}; {@code handlers} gives each accepted connection its
   * handler. Closing the result stops accepting and closes the accepted connections.
   *
   * @throws IOException if the endpoint cannot be bound
   */
  Listener listen(
      Endpoint local, AuthenticationType authentication,
      Function<Connection, MessageHandler> handlers) throws IOException;

  /**
   * Opens a connection to {@code remote}. The future fails with a {@link java.net.ConnectException}
   * (or another {@link java.io.IOException}) if the peer cannot be reached or refuses us, which the
   * engine retries, and with {@link UnsupportedOperationException} for options this transport
   * cannot honour, which it does not.
   */
  CompletableFuture<Connection> connect(
      Endpoint remote, ConnectOptions options, MessageHandler handler);

  /**
   * Where this transport reports events of the host as a whole, such as {@link
   * ReplicationEvent.CertificateExpiring}; the engine calls this once when it is built and passes
   * what it receives to its listeners. A later call replaces the earlier sink. A condition that
   * already holds (a certificate inside its warning window) is reported at once, so that it is not
   * lost before the engine exists. {@code events} may be called from any thread and returns
   * quickly. The default ignores it: a transport with nothing to report.
   */
  default void reportEventsTo(Consumer<? super ReplicationEvent> events) {
    Objects.requireNonNull(events, "events");
  }

  /** Stops listening and closes every connection; further calls fail. */
  @Override
  void close();

  /** A listening endpoint. */
  interface Listener extends Closeable {

    /** The endpoint actually bound (a port of 0 is replaced by the chosen one). */
    Endpoint endpoint();

    @Override
    void close();
  }
}
