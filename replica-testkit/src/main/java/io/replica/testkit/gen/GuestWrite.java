package io.replica.testkit.gen;

import io.replica.spi.storage.VirtualDisk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Arrays;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * One write of a guest, as made by a {@link WorkloadGenerator}: sector-aligned and inside its disk.
 *
 * <p>Equality compares the bytes, so two runs of a generator with the same seed can be compared
 * directly. {@link #data()} returns the array itself, not a copy: the write is test data owned by
 * whoever took it from the generator.
 *
 * @param diskIndex which disk, in the order the disks were given to the generator's builder
 * @param offsetBytes where the write starts, a multiple of the disk's logical sector size
 * @param data the bytes, a positive multiple of the sector size long; some writes are all zeros
 * @param delay simulated time between the previous write and this one (zero inside a burst)
 */
public record GuestWrite(int diskIndex, long offsetBytes, byte[] data, Duration delay) {

  /**
   * @throws NullPointerException if {@code data} or {@code delay} is null
   * @throws IllegalArgumentException if the index or offset is negative, or the data is empty
   */
  public GuestWrite {
    Objects.requireNonNull(data, "data");
    Objects.requireNonNull(delay, "delay");
    if (diskIndex < 0 || offsetBytes < 0 || data.length == 0 || delay.isNegative()) {
      throw new IllegalArgumentException(
          "guest write of " + data.length + " bytes at offset " + offsetBytes + " of disk #"
              + diskIndex + " after " + delay + " is invalid: index, offset and delay must not be"
              + " negative and the data not empty");
    }
  }

  /** The number of bytes written. */
  public int lengthBytes() {
    return data.length;
  }

  /** The first byte after the write. */
  public long endBytes() {
    return offsetBytes + data.length;
  }

  /** Whether every byte is zero (such writes exercise zero-block handling). */
  public boolean isAllZeros() {
    for (byte b : data) {
      if (b != 0) {
        return false;
      }
    }
    return true;
  }

  /** Writes the data to {@code disk} at {@link #offsetBytes()}. */
  public void writeTo(VirtualDisk disk) throws IOException {
    Objects.requireNonNull(disk, "disk");
    disk.write(offsetBytes, ByteBuffer.wrap(data));
  }

  /**
   * Copies the data into {@code model} at {@link #offsetBytes()}: the simplest reference model of a
   * small disk, to compare a replica against.
   *
   * @throws IndexOutOfBoundsException if the model is too small
   */
  public void applyTo(byte[] model) {
    Objects.requireNonNull(model, "model");
    System.arraycopy(data, 0, model, Math.toIntExact(offsetBytes), data.length);
  }

  @Override
  public boolean equals(@Nullable Object other) {
    return other instanceof GuestWrite that
        && diskIndex == that.diskIndex
        && offsetBytes == that.offsetBytes
        && delay.equals(that.delay)
        && Arrays.equals(data, that.data);
  }

  @Override
  public int hashCode() {
    return Objects.hash(diskIndex, offsetBytes, delay, Arrays.hashCode(data));
  }

  @Override
  public String toString() {
    return "GuestWrite[disk #" + diskIndex + ", " + data.length + " bytes at " + offsetBytes
        + (isAllZeros() ? ", zeros" : ", data hash " + Integer.toHexString(Arrays.hashCode(data)))
        + ", after " + delay + "]";
  }
}
