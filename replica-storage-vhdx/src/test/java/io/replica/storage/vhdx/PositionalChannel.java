package io.replica.storage.vhdx;

import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;

/**
 * A test file channel that offers only what VHDX code uses (positional reads and writes, size,
 * force); the rest throws, so a use of the channel's position or of mapping shows up at once.
 */
abstract class PositionalChannel extends FileChannel {

  private static UnsupportedOperationException notUsed() {
    return new UnsupportedOperationException("VHDX code uses positional I/O only");
  }

  @Override
  public int read(ByteBuffer dst) {
    throw notUsed();
  }

  @Override
  public long read(ByteBuffer[] dsts, int offset, int length) {
    throw notUsed();
  }

  @Override
  public int write(ByteBuffer src) {
    throw notUsed();
  }

  @Override
  public long write(ByteBuffer[] srcs, int offset, int length) {
    throw notUsed();
  }

  @Override
  public long position() {
    throw notUsed();
  }

  @Override
  public FileChannel position(long newPosition) {
    throw notUsed();
  }

  @Override
  public FileChannel truncate(long size) {
    throw notUsed();
  }

  @Override
  public long transferTo(long position, long count, WritableByteChannel target) {
    throw notUsed();
  }

  @Override
  public long transferFrom(ReadableByteChannel src, long position, long count) {
    throw notUsed();
  }

  @Override
  public MappedByteBuffer map(MapMode mode, long position, long size) {
    throw notUsed();
  }

  @Override
  public FileLock lock(long position, long size, boolean shared) {
    throw notUsed();
  }

  @Override
  public FileLock tryLock(long position, long size, boolean shared) {
    throw notUsed();
  }
}
