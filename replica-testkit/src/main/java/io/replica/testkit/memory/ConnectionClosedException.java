package io.replica.testkit.memory;

import java.nio.channels.ClosedChannelException;

/** A {@link ClosedChannelException} that says which connection was closed and what to do. */
final class ConnectionClosedException extends ClosedChannelException {
  private static final long serialVersionUID = 1L;

  private final String message;

  ConnectionClosedException(String message) {
    this.message = message;
  }

  @Override
  public String getMessage() {
    return message;
  }
}
