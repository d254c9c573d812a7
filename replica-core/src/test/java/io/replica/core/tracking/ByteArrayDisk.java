package io.replica.core.tracking;

import io.replica.spi.storage.ByteRange;
import io.replica.spi.storage.VirtualDisk;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;

/** A small byte-array disk for unit tests of the engine's internals. */
final class ByteArrayDisk implements VirtualDisk {
  final byte[] bytes;
  private final int sector;

  ByteArrayDisk(int sizeBytes, int sector) {
    this.bytes = new byte[sizeBytes];
    this.sector = sector;
  }

  @Override
  public long sizeBytes() {
    return bytes.length;
  }

  @Override
  public int logicalSectorSizeBytes() {
    return sector;
  }

  @Override
  public boolean isReadOnly() {
    return false;
  }

  @Override
  public synchronized void read(long offsetBytes, ByteBuffer dst) {
    check(offsetBytes, dst.remaining());
    dst.put(bytes, (int) offsetBytes, dst.remaining());
  }

  @Override
  public synchronized void write(long offsetBytes, ByteBuffer src) {
    check(offsetBytes, src.remaining());
    src.get(bytes, (int) offsetBytes, src.remaining());
  }

  private void check(long offset, int length) {
    if (offset % sector != 0 || length % sector != 0 || offset < 0 || offset + length > bytes.length) {
      throw new IllegalArgumentException("bad I/O at " + offset + " length " + length);
    }
  }

  @Override
  public void flush() {}

  @Override
  public List<ByteRange> allocatedRanges() {
    return List.of(new ByteRange(0, bytes.length));
  }

  @Override
  public void close() {}

  synchronized byte[] snapshot() {
    return Arrays.copyOf(bytes, bytes.length);
  }
}
