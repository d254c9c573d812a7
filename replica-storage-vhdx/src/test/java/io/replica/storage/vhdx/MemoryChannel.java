package io.replica.storage.vhdx;

import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.NonWritableChannelException;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;

/**
 * A read-only file channel over a byte array that the caller may change between opens: lets a
 * test open hundreds of thousands of variants of one file without touching the disk. Writing
 * throws, as on a channel opened for reading.
 */
final class MemoryChannel extends FileChannel {

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
  public int read(ByteBuffer dst) {
    throw new UnsupportedOperationException("VHDX code must use positional reads");
  }

  @Override
  public long read(ByteBuffer[] dsts, int offset, int length) {
    throw new UnsupportedOperationException("VHDX code must use positional reads");
  }

  @Override
  public int write(ByteBuffer src) {
    throw new NonWritableChannelException();
  }

  @Override
  public long write(ByteBuffer[] srcs, int offset, int length) {
    throw new NonWritableChannelException();
  }

  @Override
  public long position() {
    throw new UnsupportedOperationException("VHDX code must use positional reads");
  }

  @Override
  public FileChannel position(long newPosition) {
    throw new UnsupportedOperationException("VHDX code must use positional reads");
  }

  @Override
  public FileChannel truncate(long size) {
    throw new NonWritableChannelException();
  }

  @Override
  public long transferTo(long position, long count, WritableByteChannel target) {
    throw new UnsupportedOperationException("not used");
  }

  @Override
  public long transferFrom(ReadableByteChannel src, long position, long count) {
    throw new NonWritableChannelException();
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
  protected void implCloseChannel() {
    // nothing to release
  }
}
