package io.replica.testkit.memory;

import java.nio.file.ReadOnlyFileSystemException;

/** A {@link ReadOnlyFileSystemException} that says which handle refused the write. */
final class StorageReadOnlyException extends ReadOnlyFileSystemException {
  private static final long serialVersionUID = 1L;

  private final String message;

  StorageReadOnlyException(String message) {
    this.message = message;
  }

  @Override
  public String getMessage() {
    return message;
  }
}
