package io.replica.api;

/** A virtual machine, disk or recovery point named in a call is not known here. */
public class NotFoundException extends ReplicaException {
  private static final long serialVersionUID = 1L;

  /** A failure described by {@code message}. */
  public NotFoundException(String message) {
    super(message);
  }

  /** A failure described by {@code message}, caused by {@code cause}. */
  public NotFoundException(String message, Throwable cause) {
    super(message, cause);
  }
}
