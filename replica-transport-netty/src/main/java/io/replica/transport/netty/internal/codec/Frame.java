package io.replica.transport.netty.internal.codec;

import io.replica.spi.transport.Message;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * What the codec hands up and takes down: the connection-level frames (hello, heartbeat, error)
 * and the SPI messages. Stream bookkeeping (stream-open frames) stays inside the codec.
 */
public sealed interface Frame {

  /**
   * The first frame each side sends. The connecting side offers a range of versions; the
   * accepting side answers with the one it chose in both fields.
   *
   * @param versionMin lowest protocol version the sender speaks
   * @param versionMax highest protocol version the sender speaks
   * @param features {@link WireFormat#FEATURE_ZSTD}, {@link WireFormat#FEATURE_CLOCK} and future bits
   * @param hostName the host name the sender claims (verified against its certificate under TLS)
   * @param clock the sender's wall clock, when it tells it (only with FEATURE_CLOCK)
   */
  record Hello(int versionMin, int versionMax, int features, String hostName, java.util.Optional<java.time.Instant> clock)
      implements Frame {
    public Hello {
      Objects.requireNonNull(hostName, "hostName");
      Objects.requireNonNull(clock, "clock");
      if (clock.isPresent() && (features & WireFormat.FEATURE_CLOCK) == 0) {
        throw new IllegalArgumentException("a hello carries a clock only with the clock feature bit");
      }
    }

    /** A hello without a clock. */
    public Hello(int versionMin, int versionMax, int features, String hostName) {
      this(versionMin, versionMax, features, hostName, java.util.Optional.empty());
    }
  }

  /** Sent when a side has been quiet for a while, so that the other side sees it alive. */
  record Heartbeat(long sequence) implements Frame {}

  /** The sender closes the connection because of {@code reason}; the last frame it sends. */
  record Error(int code, String reason) implements Frame {
    public Error {
      Objects.requireNonNull(reason, "reason");
    }
  }

  /**
   * One step of the SASL (Kerberos) exchange before the hello; {@code done} marks the server's
   * last frame, after which a negotiated security layer wraps everything.
   */
  record Sasl(boolean done, byte[] token) implements Frame {
    public Sasl {
      Objects.requireNonNull(token, "token");
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Sasl && ((Sasl) o).done == done
          && java.util.Arrays.equals(((Sasl) o).token, token);
    }

    @Override
    public int hashCode() {
      return java.util.Arrays.hashCode(token) * 31 + (done ? 1 : 0);
    }

    @Override
    public String toString() {
      return "Sasl[done=" + done + ", " + token.length + " bytes]";
    }
  }

  /** One SPI message on the stream of its virtual machine. */
  record Data(Message message, @Nullable Packed packed) implements Frame {
    public Data {
      Objects.requireNonNull(message, "message");
    }

    /** A message whose payload the encoder compresses itself if the connection compresses. */
    public Data(Message message) {
      this(message, null);
    }
  }

  /**
   * The outcome of compressing a block before it reached the event loop (on the sender's
   * thread): the zstd form, or null when it did not shrink and travels raw.
   */
  record Packed(byte @Nullable [] zstd) {}
}
