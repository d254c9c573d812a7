package io.replica.transport.netty.internal.codec;

/**
 * Bytes from the peer that break the wire format or the frame order. The connection that saw them
 * closes with a protocol error; nothing of the offending frame reaches the engine.
 */
public final class ProtocolViolation extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final int code;

  public ProtocolViolation(String message) {
    this(WireFormat.ERROR_PROTOCOL, message, null);
  }

  public ProtocolViolation(int code, String message, Throwable cause) {
    super(message, cause);
    this.code = code;
  }

  /** The error code an error frame to the peer carries. */
  public int code() {
    return code;
  }
}
