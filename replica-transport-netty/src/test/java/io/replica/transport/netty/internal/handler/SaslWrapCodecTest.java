package io.replica.transport.netty.internal.handler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import io.replica.transport.netty.internal.codec.ProtocolViolation;
import io.replica.transport.netty.internal.codec.WireFormat;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * The security layer's chunk length is checked before anything waits for the chunk: until the
 * hello admits the peer, a chunk may hold one handshake frame, not a 16 MiB one. (The length
 * check comes before the GSS layer sees a byte, so the session here only copies.)
 */
class SaslWrapCodecTest {

  /** The layer's bookkeeping without the GSS cryptography, which the Kerberos tests cover. */
  private static final class CopyingSession implements SaslSession {
    @Override
    public byte[] start() {
      return new byte[0];
    }

    @Override
    public byte[] evaluate(byte[] token) {
      return null;
    }

    @Override
    public boolean complete() {
      return true;
    }

    @Override
    public String qop() {
      return "auth-int";
    }

    @Override
    public boolean wraps() {
      return true;
    }

    @Override
    public byte[] wrap(byte[] bytes, int offset, int length) {
      return Arrays.copyOfRange(bytes, offset, offset + length);
    }

    @Override
    public byte[] unwrap(byte[] bytes, int offset, int length) {
      return Arrays.copyOfRange(bytes, offset, offset + length);
    }

    @Override
    public void dispose() {}
  }

  @Test
  void beforeTheHelloAChunkHoldsOneHandshakeFrameAtMost() {
    EmbeddedChannel ch = new EmbeddedChannel(new SaslWrapCodec(new CopyingSession()));
    DecoderException e = assertThrows(DecoderException.class, () -> ch.writeInbound(
        Unpooled.buffer(4).writeInt(WireFormat.FRAME_SIZE_BYTES_MAX)));
    assertTrue(e.getCause() instanceof ProtocolViolation, e.toString());
    assertTrue(e.getCause().getMessage().contains("is outside 1.."), e.getCause().getMessage());
    ch.finishAndReleaseAll();
  }

  @Test
  void afterTheHelloAChunkMayHoldAFullFrame() {
    SaslWrapCodec codec = new SaslWrapCodec(new CopyingSession());
    EmbeddedChannel ch = new EmbeddedChannel(codec);
    ch.writeInbound(Unpooled.buffer(4).writeInt(4 + WireFormat.HANDSHAKE_LENGTH_MAX));
    assertNull(ch.readInbound(), "a handshake-sized chunk waits for its bytes");
    codec.open();
    ch.writeInbound(Unpooled.wrappedBuffer(new byte[4 + WireFormat.HANDSHAKE_LENGTH_MAX]));
    ByteBuf chunk = ch.readInbound();
    assertEquals(4 + WireFormat.HANDSHAKE_LENGTH_MAX, chunk.readableBytes());
    chunk.release();
    ch.writeInbound(Unpooled.buffer(4).writeInt(WireFormat.FRAME_SIZE_BYTES_MAX));
    assertTrue(ch.isOpen(), "a full frame's chunk is allowed once the peer is admitted");
    ch.finishAndReleaseAll();
  }
}
