package io.replica.storage.vhdx;

import java.nio.ByteBuffer;
import java.nio.channels.NonWritableChannelException;

/**
 * A read-only file channel over a byte array that the caller may change between opens: lets a
 * test open hundreds of thousands of variants of one file without touching the disk. Writing
 * throws, as on a channel opened for reading.
 */
final class MemoryChannel extends PositionalChannel {

  private final byte[] content;

  MemoryChannel(byte[] content) {
    this.content = content;
  }

  @Override
  public int read(ByteBuffer dst, long position) {
    if (position < 0) {
      throw new IllegalArgumentException("negative position " + position);
    }
    if (position >= content.length) {
      return -1;
    }
    int n = (int) Math.min(dst.remaining(), content.length - position);
    dst.put(content, (int) position, n);
    return n;
  }

  @Override
  public long size() {
    return content.length;
  }

  @Override
  public int write(ByteBuffer src, long position) {
    throw new NonWritableChannelException();
  }

  @Override
  public void force(boolean metaData) {
    throw new NonWritableChannelException();
  }

  @Override
  protected void implCloseChannel() {
    // nothing to release
  }
}
