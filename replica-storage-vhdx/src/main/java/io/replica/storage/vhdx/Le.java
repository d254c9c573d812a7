package io.replica.storage.vhdx;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.UUID;
import java.util.zip.CRC32C;

/** Little-endian fields, Microsoft GUIDs, signatures and CRC-32C over byte arrays. */
final class Le {

  static final int KIB = 1024;
  static final int MIB = 1024 * KIB;
  static final UUID ZERO_GUID = new UUID(0, 0);

  private Le() {}

  static ByteBuffer le(byte[] bytes) {
    return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
  }

  static int u16(byte[] b, int off) {
    return (b[off] & 0xff) | (b[off + 1] & 0xff) << 8;
  }

  static long u32(byte[] b, int off) {
    return (b[off] & 0xffL)
        | (b[off + 1] & 0xffL) << 8
        | (b[off + 2] & 0xffL) << 16
        | (b[off + 3] & 0xffL) << 24;
  }

  static long u64(byte[] b, int off) {
    return u32(b, off) | u32(b, off + 4) << 32;
  }

  static void put16(byte[] b, int off, int v) {
    b[off] = (byte) v;
    b[off + 1] = (byte) (v >>> 8);
  }

  static void put32(byte[] b, int off, long v) {
    for (int i = 0; i < 4; i++) {
      b[off + i] = (byte) (v >>> (8 * i));
    }
  }

  static void put64(byte[] b, int off, long v) {
    for (int i = 0; i < 8; i++) {
      b[off + i] = (byte) (v >>> (8 * i));
    }
  }

  /** A GUID stored Microsoft-style: Data1..Data3 little-endian, then 8 bytes as they are. */
  static UUID guid(byte[] b, int off) {
    long d1 = u32(b, off);
    long d2 = u16(b, off + 4);
    long d3 = u16(b, off + 6);
    long msb = d1 << 32 | d2 << 16 | d3;
    long lsb = 0;
    for (int i = 8; i < 16; i++) {
      lsb = lsb << 8 | (b[off + i] & 0xff);
    }
    return new UUID(msb, lsb);
  }

  static void putGuid(byte[] b, int off, UUID g) {
    long msb = g.getMostSignificantBits();
    put32(b, off, msb >>> 32);
    put16(b, off + 4, (int) (msb >>> 16));
    put16(b, off + 6, (int) msb);
    long lsb = g.getLeastSignificantBits();
    for (int i = 0; i < 8; i++) {
      b[off + 8 + i] = (byte) (lsb >>> (56 - 8 * i));
    }
  }

  static boolean signature(byte[] b, int off, String ascii) {
    byte[] s = ascii.getBytes(StandardCharsets.US_ASCII);
    return Arrays.equals(b, off, off + s.length, s, 0, s.length);
  }

  static void putSignature(byte[] b, int off, String ascii) {
    byte[] s = ascii.getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(s, 0, b, off, s.length);
  }

  /** CRC-32C of {@code b[off, off+len)} with the 4-byte field at {@code crcField} taken as zero. */
  static long crc(byte[] b, int off, int len, int crcField) {
    CRC32C crc = new CRC32C();
    crc.update(b, off, crcField - off);
    crc.update(new byte[4]);
    crc.update(b, crcField + 4, off + len - crcField - 4);
    return crc.getValue();
  }

  static boolean isPowerOfTwo(long v) {
    return v > 0 && (v & (v - 1)) == 0;
  }

  static String hex(long v) {
    return "0x" + Long.toHexString(v);
  }
}
