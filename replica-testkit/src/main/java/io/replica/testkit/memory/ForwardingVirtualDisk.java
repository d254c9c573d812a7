package io.replica.testkit.memory;

import io.replica.spi.storage.ByteRange;
import io.replica.spi.storage.VirtualDisk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Objects;

/**
 * A disk that passes every call on to another. Extend it and override the one call a test should
 * see go wrong: a disk whose {@code allocatedRanges()} lies, whose flush does nothing, whose reads
 * return something else, to check that the engine or a contract kit notices.
 */
public class ForwardingVirtualDisk implements VirtualDisk {
  /** The disk every call goes to unless a subclass overrides it. */
  protected final VirtualDisk delegate;

  /** @throws NullPointerException if {@code delegate} is null */
  public ForwardingVirtualDisk(VirtualDisk delegate) {
    this.delegate = Objects.requireNonNull(delegate, "delegate");
  }

  @Override
  public long sizeBytes() {
    return delegate.sizeBytes();
  }

  @Override
  public int logicalSectorSizeBytes() {
    return delegate.logicalSectorSizeBytes();
  }

  @Override
  public boolean isReadOnly() {
    return delegate.isReadOnly();
  }

  @Override
  public void read(long offsetBytes, ByteBuffer dst) throws IOException {
    delegate.read(offsetBytes, dst);
  }

  @Override
  public void write(long offsetBytes, ByteBuffer src) throws IOException {
    delegate.write(offsetBytes, src);
  }

  @Override
  public void flush() throws IOException {
    delegate.flush();
  }

  @Override
  public List<ByteRange> allocatedRanges() throws IOException {
    return delegate.allocatedRanges();
  }

  @Override
  public void trim(long offsetBytes, long lengthBytes) throws IOException {
    delegate.trim(offsetBytes, lengthBytes);
  }

  @Override
  public void close() throws IOException {
    delegate.close();
  }

  @Override
  public String toString() {
    return getClass().getSimpleName() + "[" + delegate + "]";
  }
}
