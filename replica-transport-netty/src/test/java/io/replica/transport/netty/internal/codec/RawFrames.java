package io.replica.transport.netty.internal.codec;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.UUID;
import java.util.zip.CRC32C;

/** Frames written byte by byte, as a hostile peer would, whatever the encoder allows. */
public final class RawFrames {
  private RawFrames() {}

  /** One frame with a correct length and CRC around {@code body}. */
  public static byte[] frame(int type, int flags, int stream, byte[] body) {
    ByteBuf b = Unpooled.buffer(body.length + 14);
    b.writeInt(body.length + WireFormat.LENGTH_MIN).writeByte(type).writeByte(flags)
        .writeInt(stream).writeBytes(body);
    CRC32C crc = new CRC32C();
    crc.update(b.nioBuffer(0, b.writerIndex()));
    b.writeInt((int) crc.getValue());
    byte[] bytes = new byte[b.readableBytes()];
    b.readBytes(bytes);
    b.release();
    return bytes;
  }

  public static byte[] streamOpen(int stream, UUID vm) {
    ByteBuf b = Unpooled.buffer(16).writeLong(vm.getMostSignificantBits())
        .writeLong(vm.getLeastSignificantBits());
    return frame(WireFormat.TYPE_STREAM_OPEN, 0, stream, b.array());
  }

  /** A BlockData frame flagged compressed, claiming {@code rawLength}, carrying {@code packed}. */
  public static byte[] compressedBlock(int stream, int rawLength, byte[] packed) {
    ByteBuf b = Unpooled.buffer(48 + packed.length).writeLong(1).writeLong(1).writeLong(3)
        .writeLong(4).writeLong(0).writeInt(rawLength).writeBytes(packed);
    byte[] body = new byte[b.readableBytes()];
    b.readBytes(body);
    return frame(WireFormat.TYPE_BLOCK_DATA, WireFormat.FLAG_COMPRESSED, stream, body);
  }

  public static byte[] error(int code, String reason) {
    byte[] text = reason.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    ByteBuf b = Unpooled.buffer(4 + text.length).writeShort(code).writeShort(text.length)
        .writeBytes(text);
    return frame(WireFormat.TYPE_ERROR, 0, 0, java.util.Arrays.copyOf(b.array(), b.writerIndex()));
  }

  public static byte[] hello(String host) {
    byte[] name = host.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    ByteBuf b = Unpooled.buffer().writeInt(WireFormat.MAGIC).writeShort(1).writeShort(1)
        .writeInt(WireFormat.FEATURE_ZSTD).writeShort(name.length).writeBytes(name);
    return frame(WireFormat.TYPE_HELLO, 0, 0, java.util.Arrays.copyOf(b.array(), b.writerIndex()));
  }

  public static byte[] concat(byte[]... parts) {
    int n = 0;
    for (byte[] p : parts) {
      n += p.length;
    }
    byte[] all = new byte[n];
    int at = 0;
    for (byte[] p : parts) {
      System.arraycopy(p, 0, all, at, p.length);
      at += p.length;
    }
    return all;
  }
}
