package io.replica.api;

/** Stored or received data failed a check (checksum, structure, sequence); the relationship stops rather than apply it. */
public class CorruptDataException extends ReplicaException {
  private static final long serialVersionUID = 1L;

  /** A failure described by {@code message}. */
  public CorruptDataException(String message) {
    super(message);
  }

  /** A failure described by {@code message}, caused by {@code cause}. */
  public CorruptDataException(String message, Throwable cause) {
    super(message, cause);
  }
}
