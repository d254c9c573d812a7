package io.replica.storage.vhdx;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;

/**
 * A file channel that dies at its n-th positional write, as the process would in a crash: that
 * write lands not at all or only its first half (a torn write), and every later write or force
 * throws.
 */
final class FaultyChannel extends FileChannel {

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
  public int read(ByteBuffer dst) throws IOException {
    return delegate.read(dst);
  }

  @Override
  public long read(ByteBuffer[] dsts, int offset, int length) throws IOException {
    return delegate.read(dsts, offset, length);
  }

  @Override
  public int write(ByteBuffer src) {
    throw new UnsupportedOperationException("VHDX code must use positional writes");
  }

  @Override
  public long write(ByteBuffer[] srcs, int offset, int length) {
    throw new UnsupportedOperationException("VHDX code must use positional writes");
  }

  @Override
  public long position() throws IOException {
    return delegate.position();
  }

  @Override
  public FileChannel position(long newPosition) throws IOException {
    delegate.position(newPosition);
    return this;
  }

  @Override
  public FileChannel truncate(long size) {
    throw new UnsupportedOperationException("not used");
  }

  @Override
  public long transferTo(long position, long count, WritableByteChannel target) {
    throw new UnsupportedOperationException("not used");
  }

  @Override
  public long transferFrom(ReadableByteChannel src, long position, long count) {
    throw new UnsupportedOperationException("not used");
  }

  @Override
  public MappedByteBuffer map(MapMode mode, long position, long size) {
    throw new UnsupportedOperationException("not used");
  }

  @Override
  public FileLock lock(long position, long size, boolean shared) {
    throw new UnsupportedOperationException("not used");
  }

  @Override
  public FileLock tryLock(long position, long size, boolean shared) {
    throw new UnsupportedOperationException("not used");
  }

  @Override
  protected void implCloseChannel() throws IOException {
    delegate.close();
  }
}
