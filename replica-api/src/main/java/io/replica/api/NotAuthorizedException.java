package io.replica.api;

/** A peer or caller is not allowed to do what it asked (authentication or authorization failed). */
public class NotAuthorizedException extends ReplicaException {
  private static final long serialVersionUID = 1L;

  /** A failure described by {@code message}. */
  public NotAuthorizedException(String message) {
    super(message);
  }

  /** A failure described by {@code message}, caused by {@code cause}. */
  public NotAuthorizedException(String message, Throwable cause) {
    super(message, cause);
  }
}
