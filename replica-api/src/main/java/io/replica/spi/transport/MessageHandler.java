package io.replica.spi.transport;

import org.jspecify.annotations.Nullable;

/**
 * Receives what arrives on one connection. A transport calls one handler's methods one at a time,
 * never concurrently, on a thread of its own; the engine hands work to its scheduler and returns.
 */
public interface MessageHandler {

  /** A message arrived. */
  void onMessage(Connection connection, Message message);

  /** The connection became writable again after {@link Connection#isWritable()} was false. */
  default void onWritable(Connection connection) {}

  /** The connection closed; {@code cause} is null for an orderly close. */
  void onClosed(Connection connection, @Nullable Throwable cause);
}
