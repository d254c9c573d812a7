package io.replica.api;

/**
 * The root of the engine's failures. Subtypes say what kind; the message says what failed, on which
 * object, and what to do. Asynchronous operations complete their future with one instead of
 * throwing.
 */
public class ReplicaException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** A failure described by {@code message}. */
  public ReplicaException(String message) {
    super(message);
  }

  /** A failure described by {@code message}, caused by {@code cause}. */
  public ReplicaException(String message, Throwable cause) {
    super(message, cause);
  }
}
