package io.replica.testkit.contract;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.fail;

import io.replica.spi.storage.ByteRange;
import io.replica.spi.storage.DiskSpec;
import io.replica.spi.storage.VirtualDisk;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.BitSet;
import java.util.Deque;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;

/** Helpers shared by the kits: byte patterns, whole-range I/O, byte comparison with offsets. */
final class ContractSupport {

  static final int KIB = 1024;
  static final int MIB = 1024 * KIB;

  /**
   * Names that {@code StorageNames.check} rejects; each kit first confirms that, so that a change
   * of the naming rules cannot silently weaken D2.3 and D3.15.
   */
  static final List<String> INVALID_NAMES =
      List.of(
          "",
          "..",
          "../x",
          "/abs",
          "a/../b",
          "a//b",
          "a/",
          "./a",
          ".hidden",
          "a\\b",
          "C:x",
          "a b",
          "x".repeat(129));

  private ContractSupport() {}

  /** Bytes from 1 to 255, never 0, so that written data can be told from unwritten zeros. */
  static byte[] pattern(long seed, int length) {
    SplittableRandom random = new SplittableRandom(seed);
    byte[] bytes = new byte[length];
    for (int i = 0; i < length; i++) {
      bytes[i] = (byte) random.nextInt(1, 256);
    }
    return bytes;
  }

  static void write(VirtualDisk disk, long offsetBytes, byte[] bytes) throws IOException {
    disk.write(offsetBytes, ByteBuffer.wrap(bytes));
  }

  static byte[] read(VirtualDisk disk, long offsetBytes, int lengthBytes) throws IOException {
    byte[] bytes = new byte[lengthBytes];
    disk.read(offsetBytes, ByteBuffer.wrap(bytes));
    return bytes;
  }

  /** The whole disk, read in 1 MiB pieces; the kits use disks of a few MiB. */
  static byte[] readAll(VirtualDisk disk) throws IOException {
    int size = Math.toIntExact(disk.sizeBytes());
    byte[] bytes = new byte[size];
    for (int offset = 0; offset < size; offset += MIB) {
      // A fresh buffer per piece, so that only D1.8 depends on buffer positions.
      ByteBuffer piece = ByteBuffer.allocate(Math.min(MIB, size - offset));
      disk.read(offset, piece);
      System.arraycopy(piece.array(), 0, bytes, offset, piece.capacity());
    }
    return bytes;
  }

  /**
   * Fails with {@code message}, the first differing offset and both bytes there, instead of a
   * dump of megabytes.
   */
  static void assertSameBytes(String message, long baseOffset, byte[] expected, byte[] actual) {
    if (expected.length != actual.length) {
      fail(message + ": expected " + expected.length + " bytes but got " + actual.length);
    }
    for (int i = 0; i < expected.length; i++) {
      if (expected[i] != actual[i]) {
        fail(
            message
                + ": first difference at byte offset "
                + (baseOffset + i)
                + ", expected "
                + hex(expected[i])
                + " but read "
                + hex(actual[i]));
      }
    }
  }

  /**
   * Like {@link #assertSameBytes} for {@code actual}, read at {@code offset}, but compares only the
   * bytes {@code written} marks, so that a rule about written bytes does not also check D1.2.
   */
  static void assertWrittenBytes(
      String message, byte[] model, BitSet written, int offset, byte[] actual) {
    for (int i = written.nextSetBit(offset);
        i >= 0 && i < offset + actual.length;
        i = written.nextSetBit(i + 1)) {
      if (model[i] != actual[i - offset]) {
        fail(
            message
                + ": first difference at byte offset "
                + i
                + ", expected "
                + hex(model[i])
                + " but read "
                + hex(actual[i - offset]));
      }
    }
  }

  /** Fails with {@code message} and the first offset in [from, to) that is not zero. */
  static void assertZeros(String message, byte[] bytes, int from, int to) {
    for (int i = from; i < to; i++) {
      if (bytes[i] != 0) {
        fail(message + ": byte offset " + i + " reads " + hex(bytes[i]) + ", expected 0x00");
      }
    }
  }

  /**
   * Checks that {@code disk.allocatedRanges()} is ascending, disjoint and inside the disk, and that
   * every byte the disk reads as non-zero lies inside it; failure messages start with {@code rule}.
   * The engine copies only these ranges in an initial replication, so a byte outside them that is
   * not zero would be missing on the replica without any error.
   */
  static void assertAllocationCoversData(String rule, VirtualDisk disk, String where)
      throws IOException {
    List<ByteRange> ranges = disk.allocatedRanges();
    assertNotNull(ranges, rule + ": allocatedRanges() must not return null " + where);
    long size = disk.sizeBytes();
    long end = 0;
    ByteRange previous = null;
    for (ByteRange range : ranges) {
      assertNotNull(range, rule + ": allocatedRanges() must not hold null " + where);
      if (range.offsetBytes() < end) {
        fail(rule + ": allocatedRanges() must be ascending and disjoint, but " + format(range)
            + " follows " + format(previous) + " " + where);
      }
      if (range.endBytes() > size) {
        fail(rule + ": allocatedRanges() must lie inside the disk, but " + format(range)
            + " ends past " + size + " " + where);
      }
      end = range.endBytes();
      previous = range;
    }
    byte[] all = readAll(disk);
    String message = rule + ": every byte outside allocatedRanges() " + format(ranges)
        + " must read as zero " + where;
    int from = 0;
    for (ByteRange range : ranges) {
      assertZeros(message, all, from, (int) range.offsetBytes());
      from = (int) range.endBytes();
    }
    assertZeros(message, all, from, all.length);
  }

  static String format(ByteRange range) {
    return "[" + range.offsetBytes() + ", " + range.endBytes() + ")";
  }

  static String format(List<ByteRange> ranges) {
    if (ranges.isEmpty()) {
      return "(none)";
    }
    String shown = ranges.stream().limit(8).map(ContractSupport::format)
        .collect(Collectors.joining(" "));
    return ranges.size() > 8 ? shown + " ... (" + ranges.size() + " ranges)" : shown;
  }

  static String hex(byte b) {
    return String.format("0x%02x", b & 0xff);
  }

  static String describe(DiskSpec spec) {
    return "("
        + spec.logicalSectorSizeBytes()
        + "-byte sectors, "
        + spec.sizeBytes()
        + "-byte disk)";
  }

  /** Everything a kit opened, closed in reverse order after each test. */
  static final class Opened {
    private final Deque<AutoCloseable> handles = new ArrayDeque<>();

    <T extends AutoCloseable> T add(T handle) {
      handles.push(handle);
      return handle;
    }

    /** Closes {@code handle} now, once; the kit does not close it again after the test. */
    void close(Closeable handle) throws IOException {
      handles.removeIf(h -> h == handle);
      handle.close();
    }

    void closeAll() throws Exception {
      closeEach(handles, null);
    }
  }

  /**
   * Pops and closes every item of {@code items}, newest first, even when one fails; then throws
   * {@code first} or the first failure, with the later ones suppressed.
   */
  static void closeEach(Deque<? extends AutoCloseable> items, @Nullable Exception first) throws Exception {
    while (!items.isEmpty()) {
      try {
        items.pop().close();
      } catch (Exception e) {
        if (first == null) {
          first = e;
        } else {
          first.addSuppressed(e);
        }
      }
    }
    if (first != null) {
      throw first;
    }
  }
}
