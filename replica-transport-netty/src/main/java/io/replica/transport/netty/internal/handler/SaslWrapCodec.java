package io.replica.transport.netty.internal.handler;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageCodec;
import io.replica.transport.netty.internal.codec.ProtocolViolation;
import io.replica.transport.netty.internal.codec.WireFormat;
import java.util.List;
import javax.security.sasl.SaslException;

/**
 * The SASL security layer (Kerberos integrity or confidentiality): below the frame codec, every
 * outgoing chunk becomes {@code u32 length, wrapped bytes}, and every incoming one is unwrapped;
 * a chunk that fails its check is a protocol error. Installed once the SASL exchange completed.
 */
final class SaslWrapCodec extends ByteToMessageCodec<ByteBuf> {
  /** What wrapping adds to a chunk at most (GSS header, checksum, padding). */
  private static final int WRAP_OVERHEAD_BYTES = 4096;

  private final SaslSession session;
  /** Chunks up to a handshake frame until the hello admits the peer, full frames after. */
  private long chunkMax = 4L + WireFormat.HANDSHAKE_LENGTH_MAX + WRAP_OVERHEAD_BYTES;

  SaslWrapCodec(SaslSession session) {
    super(ByteBuf.class);
    this.session = session;
  }

  /** The hello exchange admitted the peer: chunks of full frames from now on. */
  void open() {
    chunkMax = WireFormat.FRAME_SIZE_BYTES_MAX + (long) WRAP_OVERHEAD_BYTES;
  }

  @Override
  protected void encode(ChannelHandlerContext ctx, ByteBuf msg, ByteBuf out) throws SaslException {
    byte[] plain = new byte[msg.readableBytes()];
    msg.readBytes(plain);
    byte[] wrapped = session.wrap(plain, 0, plain.length);
    out.writeInt(wrapped.length).writeBytes(wrapped);
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    if (in.readableBytes() < 4) {
      return;
    }
    long length = in.getUnsignedInt(in.readerIndex());
    if (length <= 0 || length > chunkMax) {
      in.skipBytes(in.readableBytes());
      throw new ProtocolViolation("SASL-wrapped chunk of " + length + " bytes is outside 1.."
          + chunkMax);
    }
    if (in.readableBytes() < 4 + length) {
      return;
    }
    in.skipBytes(4);
    byte[] wrapped = new byte[(int) length];
    in.readBytes(wrapped);
    try {
      out.add(Unpooled.wrappedBuffer(session.unwrap(wrapped, 0, wrapped.length)));
    } catch (SaslException e) {
      in.skipBytes(in.readableBytes());
      throw new ProtocolViolation(WireFormat.ERROR_PROTOCOL, "a SASL-protected chunk failed its"
          + " integrity check: " + e.getMessage(), e);
    }
  }
}
