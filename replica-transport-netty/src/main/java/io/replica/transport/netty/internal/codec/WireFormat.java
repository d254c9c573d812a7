package io.replica.transport.netty.internal.codec;

/**
 * The constants of the wire format that docs/protocol.md describes; keep the two in step.
 */
public final class WireFormat {

  /** "RPLC": the first field of every hello frame. */
  public static final int MAGIC = 0x52504C43;

  /** The protocol versions this build speaks. */
  public static final int VERSION_MIN = 1;

  /** The protocol versions this build speaks. */
  public static final int VERSION_MAX = 1;

  /**
   * The hard maximum of the length field: no frame, whatever the peer says, makes a receiver
   * buffer more than this. A 16 MiB block plus headers fits in it.
   */
  public static final int FRAME_SIZE_BYTES_MAX = 16 * 1024 * 1024 + 1024;

  /** The largest block payload a BlockData frame carries (raw or once decompressed). */
  public static final int BLOCK_SIZE_BYTES_MAX = 16 * 1024 * 1024;

  /** Length field, type, flags, stream id: what precedes the body. */
  public static final int HEADER_BYTES = 4 + 1 + 1 + 4;

  /** The CRC-32C that ends every frame. */
  public static final int TRAILER_BYTES = 4;

  /** The smallest value of the length field (an empty body). */
  public static final int LENGTH_MIN = HEADER_BYTES - 4 + TRAILER_BYTES;

  /** The most streams one direction of a connection may open. */
  public static final int STREAMS_MAX = 65_536;

  /** The longest string field in bytes of UTF-8. */
  public static final int STRING_BYTES_MAX = 4096;

  /** The most disks one EnableRequest may describe. */
  public static final int DISKS_MAX = 1024;

  /** Hello feature bit: the sender can compress and decompress zstd block payloads. */
  public static final int FEATURE_ZSTD = 1;

  /**
   * Hello feature bit: from the connecting side, "tell me your clock"; from the accepting side, its
   * hello ends with its wall clock ({@code i64} milliseconds since the epoch), so that the other
   * side can compare clocks (certificates, Kerberos and recovery point times depend on them).
   */
  public static final int FEATURE_CLOCK = 2;

  /** Frame flag on BlockData: the payload is zstd-compressed. */
  public static final int FLAG_COMPRESSED = 1;

  // Frame types. Connection frames travel on stream 0.
  public static final int TYPE_HELLO = 0x01;
  public static final int TYPE_HEARTBEAT = 0x02;
  public static final int TYPE_ERROR = 0x03;
  public static final int TYPE_STREAM_OPEN = 0x04;
  public static final int TYPE_SASL = 0x05;

  /** Flag on a SASL frame: the server's last one. */
  public static final int FLAG_SASL_DONE = 1;

  /** The longest SASL token accepted (GSSAPI tokens with a PAC stay well below). */
  public static final int SASL_TOKEN_BYTES_MAX = 64 * 1024;

  /**
   * The maximum of the length field before a peer's hello is admitted: the largest handshake
   * message, a SASL frame with a token of {@link #SASL_TOKEN_BYTES_MAX} (a hello or an error
   * frame, with one string of at most {@link #STRING_BYTES_MAX}, is smaller). A peer that proved
   * nothing can make a receiver buffer no more than this.
   */
  public static final int HANDSHAKE_LENGTH_MAX = LENGTH_MIN + SASL_TOKEN_BYTES_MAX;
  public static final int TYPE_ENABLE_REQUEST = 0x10;
  public static final int TYPE_ENABLE_RESPONSE = 0x11;
  public static final int TYPE_CYCLE_BEGIN = 0x12;
  public static final int TYPE_BLOCK_DATA = 0x13;
  public static final int TYPE_ZERO_RUN = 0x14;
  public static final int TYPE_CYCLE_END = 0x15;
  public static final int TYPE_CYCLE_ACK = 0x16;
  public static final int TYPE_CYCLE_REJECTED = 0x17;
  public static final int TYPE_FAILOVER_PREPARED = 0x18;
  public static final int TYPE_FAILOVER_COMPLETED = 0x19;
  public static final int TYPE_HASH_REQUEST = 0x1A;
  public static final int TYPE_HASH_RESPONSE = 0x1B;
  public static final int TYPE_POWER_STATE_QUERY = 0x1C;
  public static final int TYPE_POWER_STATE_REPORT = 0x1D;
  public static final int TYPE_CHANGED_RANGES = 0x1E;
  public static final int TYPE_VERIFY_REQUEST = 0x1F;
  public static final int TYPE_VERIFY_RESPONSE = 0x20;

  // Error codes carried by error frames.
  public static final int ERROR_PROTOCOL = 1;
  public static final int ERROR_VERSION = 2;
  public static final int ERROR_AUTHENTICATION = 3;
  public static final int ERROR_INTERNAL = 4;

  private WireFormat() {}

  /** A short name of an error code for messages. */
  public static String errorName(int code) {
    switch (code) {
      case ERROR_PROTOCOL:
        return "protocol error";
      case ERROR_VERSION:
        return "no common protocol version";
      case ERROR_AUTHENTICATION:
        return "authentication failed";
      case ERROR_INTERNAL:
        return "internal error";
      default:
        return "error " + code;
    }
  }
}
