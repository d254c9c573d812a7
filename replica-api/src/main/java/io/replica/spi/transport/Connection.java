package io.replica.spi.transport;

import java.util.concurrent.CompletableFuture;

/**
 * An authenticated connection between two hosts that carries {@link Message}s in order.
 *
 * <p>Messages sent on one connection arrive in the order sent, each at most once; a connection
 * that fails closes, and the engine reconnects and resumes from what the replica acknowledged.
 */
public interface Connection {

  /** The peer's endpoint. */
  Endpoint remote();

  /**
   * The identity the peer authenticated as: the DNS name from its certificate or the host part of
   * its Kerberos principal, lower case.
   */
  String peerIdentity();

  /**
   * Queues {@code message}; the future completes when it was handed to the network, or
   * exceptionally if the connection closed first. The caller must not change a payload array
   * after sending it.
   */
  CompletableFuture<Void> send(Message message);

  /**
   * Whether the connection accepts more messages without growing its buffers past its bound. A
   * sender that respects back-pressure waits for {@link MessageHandler#onWritable(Connection)}.
   */
  boolean isWritable();

  /** Whether the connection is still open. */
  boolean isOpen();

  /** Closes the connection; messages still queued may be lost. */
  void close();
}
