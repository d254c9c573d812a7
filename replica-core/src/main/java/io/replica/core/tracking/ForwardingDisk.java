package io.replica.core.tracking;

import io.replica.spi.storage.ByteRange;
import io.replica.spi.storage.VirtualDisk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * A view of a disk that passes everything to it; subclasses change what they must. Closing a view
 * does not close the disk, which belongs to someone else.
 */
public abstract class ForwardingDisk implements VirtualDisk {
  protected final VirtualDisk disk;

  protected ForwardingDisk(VirtualDisk disk) {
    this.disk = disk;
  }

  @Override
  public long sizeBytes() {
    return disk.sizeBytes();
  }

  @Override
  public int logicalSectorSizeBytes() {
    return disk.logicalSectorSizeBytes();
  }

  @Override
  public boolean isReadOnly() {
    return disk.isReadOnly();
  }

  @Override
  public void read(long offsetBytes, ByteBuffer dst) throws IOException {
    disk.read(offsetBytes, dst);
  }

  @Override
  public void write(long offsetBytes, ByteBuffer src) throws IOException {
    disk.write(offsetBytes, src);
  }

  @Override
  public void trim(long offsetBytes, long lengthBytes) throws IOException {
    disk.trim(offsetBytes, lengthBytes);
  }

  @Override
  public void flush() throws IOException {
    disk.flush();
  }

  @Override
  public List<ByteRange> allocatedRanges() throws IOException {
    return disk.allocatedRanges();
  }

  @Override
  public void close() {}
}
