package io.replica.core.verify;

import io.replica.api.DiskId;
import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * The CRC-32C over a cycle's content that primary and replica compute alike: each block's disk,
 * offset and bytes, each zero run's disk, offset and length, in the order sent.
 */
public final class ContentChecksum {
  private final CRC32C crc = new CRC32C();
  private final ByteBuffer header = ByteBuffer.allocate(33);
  private long messages;
  private long payloadBytes;
  private long coveredBytes;

  public void block(DiskId disk, long offsetBytes, byte[] data) {
    header(disk, offsetBytes, data.length, (byte) 1);
    crc.update(data);
    messages++;
    payloadBytes += data.length;
    coveredBytes += data.length;
  }

  public void zero(DiskId disk, long offsetBytes, long lengthBytes) {
    header(disk, offsetBytes, lengthBytes, (byte) 0);
    messages++;
    coveredBytes += lengthBytes;
  }

  private void header(DiskId disk, long offsetBytes, long length, byte kind) {
    header.clear();
    header.putLong(disk.uuid().getMostSignificantBits()).putLong(disk.uuid().getLeastSignificantBits())
        .putLong(offsetBytes).putLong(length).put(kind).flip();
    crc.update(header);
  }

  public int value() {
    return (int) crc.getValue();
  }

  public long messages() {
    return messages;
  }

  public long payloadBytes() {
    return payloadBytes;
  }

  /** The disk bytes the blocks and zero runs span. */
  public long coveredBytes() {
    return coveredBytes;
  }
}
