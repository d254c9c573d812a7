package io.replica.testkit.memory;

import io.replica.spi.transport.Connection;
import io.replica.spi.transport.Endpoint;
import io.replica.spi.transport.Message;
import java.util.concurrent.CompletableFuture;
import org.jspecify.annotations.Nullable;

/**
 * One end of an in-memory connection. Its state lives under the network's lock; the logic is in
 * {@link InMemoryNetwork}, which sees both ends at once.
 */
final class InMemoryConnection implements Connection {
  final InMemoryNetwork network;
  final InMemoryTransport transport;
  final String localHost;
  final String peerHost;
  final Endpoint remote;
  /** The listener that accepted this end, or null on the connecting side. */
  final @Nullable InMemoryListener listener;
  /** Where this end was opened, for leak reports. */
  final StorageLeaks.OpenedAt openedAt;

  // Guarded by network.lock; set once by InMemoryNetwork right after both ends exist.
  @Nullable InMemoryConnection peer;
  @Nullable MessagePipe out;
  /** Null until the handler is known (the accepting side learns it from the listener's factory). */
  @Nullable HandlerMailbox mailbox;
  /** Whether sending is allowed: false once either side closed or the link was reset. */
  boolean open = true;
  /** Whether onClosed was posted (or, without a handler, would have been); nothing follows it. */
  boolean closedPosted;

  InMemoryConnection(
      InMemoryNetwork network, InMemoryTransport transport, String peerHost, Endpoint remote,
      @Nullable InMemoryListener listener) {
    this.network = network;
    this.transport = transport;
    this.localHost = transport.host;
    this.peerHost = peerHost;
    this.remote = remote;
    this.listener = listener;
    this.openedAt = new StorageLeaks.OpenedAt(
        (listener != null ? "accepted " : "") + "connection " + localHost + " -> " + remote);
  }

  /** The pipe this end sends on. */
  MessagePipe out() {
    MessagePipe pipe = out;
    if (pipe == null) {
      throw new IllegalStateException("connection " + this + " is not joined to its peer yet");
    }
    return pipe;
  }

  /** The pipe this end receives from. */
  MessagePipe in() {
    return peer().out();
  }

  InMemoryConnection peer() {
    InMemoryConnection p = peer;
    if (p == null) {
      throw new IllegalStateException("connection " + this + " is not joined to its peer yet");
    }
    return p;
  }

  @Override
  public Endpoint remote() {
    return remote;
  }

  /** The peer's host name, vouched for by the network (see {@link InMemoryNetwork}). */
  @Override
  public String peerIdentity() {
    return peerHost;
  }

  @Override
  public CompletableFuture<Void> send(Message message) {
    return network.send(this, message);
  }

  @Override
  public boolean isWritable() {
    return network.isWritable(this);
  }

  @Override
  public boolean isOpen() {
    return network.isOpen(this);
  }

  @Override
  public void close() {
    network.close(this);
  }

  @Override
  public String toString() {
    return "in-memory connection " + localHost + " -> " + remote
        + (listener != null ? " (accepted on " + listener.endpoint() + ")" : "");
  }
}
