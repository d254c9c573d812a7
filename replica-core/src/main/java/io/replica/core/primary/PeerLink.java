package io.replica.core.primary;

import io.replica.api.ReplicationSettings;
import io.replica.core.context.Failures;
import io.replica.core.context.SerialExecutor;
import io.replica.spi.time.Cancellable;
import io.replica.spi.transport.ConnectOptions;
import io.replica.spi.transport.Connection;
import io.replica.spi.transport.Endpoint;
import io.replica.spi.transport.Message;
import io.replica.spi.transport.MessageHandler;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * The primary's connection to one replica server, shared by every machine replicating there.
 * Reconnects with back-off (1, 2, 4, 8, then every 10 seconds) while any machine needs it. Guarded
 * by the engine lock.
 */
public final class PeerLink {
  private static final List<Duration> BACKOFF = List.of(
      Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofSeconds(4), Duration.ofSeconds(8),
      Duration.ofSeconds(10));

  public final Endpoint endpoint;
  private final ConnectOptions options;
  private final PrimaryHost engine;
  private final Set<PrimaryRelationship> members = new LinkedHashSet<>();
  private @Nullable Connection connection;
  private boolean connecting;
  private int failures;
  private @Nullable Cancellable retry;
  private @Nullable String lastFailure;
  private boolean closed;

  PeerLink(PrimaryHost engine, Endpoint endpoint, ConnectOptions options) {
    this.engine = engine;
    this.endpoint = endpoint;
    this.options = options;
  }

  public static Endpoint endpointOf(ReplicationSettings settings) {
    return new Endpoint(settings.replicaServer(), settings.replicaServerPort());
  }

  boolean matches(ConnectOptions other) {
    return options.equals(other);
  }

  public void add(PrimaryRelationship r) {
    members.add(r);
    if (connection != null && connection.isOpen()) {
      r.connected(connection);
    } else {
      connect();
    }
  }

  public void remove(PrimaryRelationship r) {
    members.remove(r);
    if (members.isEmpty()) {
      close();
    }
  }

  public boolean isEmpty() {
    return members.isEmpty();
  }

  boolean isConnected() {
    return connection != null && connection.isOpen();
  }

  @Nullable String lastFailure() {
    return lastFailure;
  }

  @Nullable Connection connection() {
    return connection;
  }

  private void connect() {
    if (connecting || closed || isConnected()) {
      return;
    }
    connecting = true;
    Handler handler = new Handler();
    engine.transport().connect(endpoint, options, handler).whenComplete((c, error) ->
        engine.hop(() -> {
          connecting = false;
          if (error != null) {
            failed("cannot connect to replica server " + endpoint + ": " + Failures.describe(error));
            return;
          }
          if (closed) {
            c.close();
            return;
          }
          if (!c.isOpen()) {
            // Its close was handled before this callback (a scheduler with several threads).
            failed("connection to replica server " + endpoint + " closed before it was used");
            return;
          }
          connection = c;
          failures = 0;
          lastFailure = null;
          for (PrimaryRelationship r : new ArrayList<>(members)) {
            r.connected(c);
          }
        }, () -> {
          if (c != null) {
            c.close(); // opened as the engine closed
          }
        }));
  }

  private void failed(String reason) {
    lastFailure = reason;
    connection = null;
    for (PrimaryRelationship r : new ArrayList<>(members)) {
      r.disconnected(reason);
    }
    if (closed || members.isEmpty()) {
      return;
    }
    Duration delay = BACKOFF.get(Math.min(failures, BACKOFF.size() - 1));
    failures++;
    retry = engine.scheduler().schedule(() -> engine.runLocked(() -> {
      retry = null;
      connect();
    }), delay);
  }

  /** Drops the current connection as broken; every machine on it resumes after a reconnect. */
  void reset(String reason) {
    Connection c = connection;
    if (c == null) {
      return;
    }
    failed(reason);
    c.close();
  }

  public void close() {
    closed = true;
    if (retry != null) {
      retry.cancel();
    }
    if (connection != null) {
      connection.close();
      connection = null;
    }
  }

  /** Receives the replica server's messages; each is handled under the engine lock, in order. */
  private final class Handler implements MessageHandler {
    private final SerialExecutor inbound = new SerialExecutor(engine.scheduler());

    @Override
    public void onMessage(Connection c, Message message) {
      inbound.execute(() -> engine.runLocked(() -> {
        if (c != connection) {
          return;
        }
        PrimaryRelationship r = engine.primary(message.vm());
        if (r == null || !members.contains(r)) {
          return;
        }
        r.onMessage(message);
      }));
    }

    @Override
    public void onWritable(Connection c) {
      inbound.execute(() -> engine.runLocked(() -> {
        if (c == connection) {
          new ArrayList<>(members).forEach(PrimaryRelationship::pump);
        }
      }));
    }

    @Override
    public void onClosed(Connection c, @Nullable Throwable cause) {
      inbound.execute(() -> engine.runLocked(() -> {
        if (c != connection) {
          return;
        }
        failed("connection to replica server " + endpoint + " closed"
            + (cause == null ? "" : ": " + Failures.describe(cause)));
      }));
    }
  }
}
