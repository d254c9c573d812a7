package io.replica.spi.transport;

import org.jspecify.annotations.Nullable;

/**
 * Receives what arrives on one connection. A transport calls the methods for one connection one at
 * a time, in order, never concurrently and never from inside {@link Connection#send}; the engine
 * hands work to its scheduler and returns. Every end of a connection, including the end that called
 * {@link Connection#close()}, gets exactly one {@link #onClosed} call, after its last
 * {@link #onMessage}.
 */
public interface MessageHandler {

  /** A message arrived. */
  void onMessage(Connection connection, Message message);

  /** The connection became writable again after {@link Connection#isWritable()} was false. */
  default void onWritable(Connection connection) {}

  /** The connection closed; {@code cause} is null for an orderly close. */
  void onClosed(Connection connection, @Nullable Throwable cause);
}
