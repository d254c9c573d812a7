package io.replica.testkit.contract;

import io.replica.spi.storage.ByteRange;
import io.replica.spi.storage.VirtualDisk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

/** A disk that passes every call on; broken variants override the one call they get wrong. */
class ForwardingDisk implements VirtualDisk {

  final VirtualDisk delegate;

  ForwardingDisk(VirtualDisk delegate) {
    this.delegate = delegate;
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
}
