package io.replica.spi.storage;

/**
 * The geometry of a disk to create.
 *
 * @param sizeBytes virtual size, a positive multiple of the logical sector size
 * @param logicalSectorSizeBytes 512 or 4096
 * @param physicalSectorSizeBytes 512 or 4096, not smaller than the logical sector size
 * @param fixed whether all space is allocated up front (a format that has no such notion ignores it)
 */
public record DiskSpec(
    long sizeBytes, int logicalSectorSizeBytes, int physicalSectorSizeBytes, boolean fixed) {

  /** @throws IllegalArgumentException naming the field that is out of range */
  public DiskSpec {
    if (logicalSectorSizeBytes != 512 && logicalSectorSizeBytes != 4096) {
      throw new IllegalArgumentException(
          "logical sector size " + logicalSectorSizeBytes + " is not supported; use 512 or 4096");
    }
    if (physicalSectorSizeBytes != 512 && physicalSectorSizeBytes != 4096
        || physicalSectorSizeBytes < logicalSectorSizeBytes) {
      throw new IllegalArgumentException(
          "physical sector size " + physicalSectorSizeBytes + " is not supported; use 512 or 4096,"
              + " not smaller than the logical sector size " + logicalSectorSizeBytes);
    }
    if (sizeBytes <= 0 || sizeBytes % logicalSectorSizeBytes != 0) {
      throw new IllegalArgumentException(
          "disk size " + sizeBytes + " bytes is invalid; it must be a positive multiple of the"
              + " logical sector size " + logicalSectorSizeBytes);
    }
  }

  /** A dynamic disk of the given size with 512-byte logical and 4096-byte physical sectors. */
  public static DiskSpec dynamic(long sizeBytes) {
    return new DiskSpec(sizeBytes, 512, 4096, false);
  }

  /** The same geometry at another size. */
  public DiskSpec withSize(long newSizeBytes) {
    return new DiskSpec(newSizeBytes, logicalSectorSizeBytes, physicalSectorSizeBytes, fixed);
  }
}
