package io.replica.api;

/** A peer sent something the protocol does not allow; the connection is closed and nothing is written. */
public class ProtocolException extends ReplicaException {
  private static final long serialVersionUID = 1L;

  /** A failure described by {@code message}. */
  public ProtocolException(String message) {
    super(message);
  }

  /** A failure described by {@code message}, caused by {@code cause}. */
  public ProtocolException(String message, Throwable cause) {
    super(message, cause);
  }
}
