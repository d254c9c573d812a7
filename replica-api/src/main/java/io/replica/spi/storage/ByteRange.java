package io.replica.spi.storage;

/**
 * A half-open range of bytes {@code [offsetBytes, offsetBytes + lengthBytes)}.
 *
 * @param offsetBytes first byte, not negative
 * @param lengthBytes number of bytes, positive
 */
public record ByteRange(long offsetBytes, long lengthBytes) {

  /** @throws IllegalArgumentException if the offset is negative, the length not positive, or the end overflows */
  public ByteRange {
    if (offsetBytes < 0 || lengthBytes <= 0 || offsetBytes + lengthBytes < 0) {
      throw new IllegalArgumentException(
          "byte range [" + offsetBytes + ", +" + lengthBytes + ") is invalid: the offset must not be"
              + " negative and the length must be positive");
    }
  }

  /** The first byte after the range. */
  public long endBytes() {
    return offsetBytes + lengthBytes;
  }
}
