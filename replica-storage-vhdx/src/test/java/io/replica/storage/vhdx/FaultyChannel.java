package io.replica.storage.vhdx;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

/**
 * A file channel that dies at its n-th positional write, as the process would in a crash: that
 * write lands not at all or only its first half (a torn write), and every later write or force
 * throws.
 */
final class FaultyChannel extends PositionalChannel {

  private final FileChannel delegate;
  private final long failAt;
  private final boolean tear;
  private long writes;
  private boolean dead;

  FaultyChannel(FileChannel delegate, long failAt, boolean tear) {
    this.delegate = delegate;
    this.failAt = failAt;
    this.tear = tear;
  }

  long writes() {
    return writes;
  }

  boolean crashed() {
    return dead;
  }

  private void alive() throws IOException {
    if (dead) {
      throw new IOException("simulated crash: the process is gone");
    }
  }

  @Override
  public int write(ByteBuffer src, long position) throws IOException {
    alive();
    if (++writes == failAt) {
      dead = true;
      if (tear && src.remaining() > 1) {
        ByteBuffer half = src.duplicate();
        half.limit(half.position() + src.remaining() / 2);
        while (half.hasRemaining()) {
          delegate.write(half, position + (half.position() - src.position()));
        }
      }
      throw new IOException("simulated crash at write " + writes);
    }
    return delegate.write(src, position);
  }

  @Override
  public void force(boolean metaData) throws IOException {
    alive();
    delegate.force(metaData);
  }

  @Override
  public int read(ByteBuffer dst, long position) throws IOException {
    return delegate.read(dst, position);
  }

  @Override
  public long size() throws IOException {
    return delegate.size();
  }

  @Override
  protected void implCloseChannel() throws IOException {
    delegate.close();
  }
}
