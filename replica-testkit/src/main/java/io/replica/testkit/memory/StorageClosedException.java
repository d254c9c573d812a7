package io.replica.testkit.memory;

import java.nio.channels.ClosedChannelException;

/** A {@link ClosedChannelException} that says which handle was closed, and by what. */
final class StorageClosedException extends ClosedChannelException {
  private static final long serialVersionUID = 1L;

  private final String message;

  StorageClosedException(String message) {
    this.message = message;
  }

  @Override
  public String getMessage() {
    return message;
  }
}
