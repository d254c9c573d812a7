package io.replica.storage.vhdx;

import java.nio.file.Path;
import java.util.UUID;

/**
 * One of the two 4 KiB headers (MS-VHDX 2.2.2), at {@link #OFFSET_1} or {@link #OFFSET_2}.
 *
 * @param sequenceNumber the newer of two valid headers is current
 * @param fileWriteGuid changes on the first write of every writable open
 * @param dataWriteGuid changes before the first user-visible change of every writable open
 * @param logGuid zero when the log is empty
 */
record Header(
    long sequenceNumber,
    UUID fileWriteGuid,
    UUID dataWriteGuid,
    UUID logGuid,
    int logVersion,
    int version,
    long logLengthBytes,
    long logOffsetBytes) {

  static final long OFFSET_1 = 64L * Le.KIB;
  static final long OFFSET_2 = 128L * Le.KIB;
  static final int SIZE = 4 * Le.KIB;

  static long offsetOf(int slot) {
    return slot == 0 ? OFFSET_1 : OFFSET_2;
  }

  /**
   * Parses a header, checking its signature, checksum and version; the caller decides between the
   * two headers, so a bad one is reported, not fatal.
   */
  static Header parse(Path file, byte[] b, long fileOffset, String name)
      throws CorruptDiskException {
    if (b.length != SIZE) {
      throw new IllegalArgumentException("a header is " + SIZE + " bytes, not " + b.length);
    }
    if (!Le.signature(b, 0, "head")) {
      throw new CorruptDiskException(file, name, fileOffset, "the signature is not 'head'");
    }
    long stored = Le.u32(b, 4);
    long computed = Le.crc(b, 0, SIZE, 4);
    if (stored != computed) {
      throw new CorruptDiskException(
          file, name, fileOffset,
          "the CRC-32C checksum is " + Le.hex(stored) + " but the content gives "
              + Le.hex(computed));
    }
    Header h =
        new Header(
            Le.u64(b, 8), Le.guid(b, 16), Le.guid(b, 32), Le.guid(b, 48), Le.u16(b, 64),
            Le.u16(b, 66), Le.u32(b, 68), Le.u64(b, 72));
    if (h.version != 1) {
      throw new CorruptDiskException(
          file, name, fileOffset + 66,
          "the version is " + h.version + "; only VHDX version 1 is supported");
    }
    return h;
  }

  /**
   * Checks the log fields of the current header against the file size: a log that overlaps the
   * header section, is not 1 MiB aligned or lies past the end cannot be trusted.
   */
  void checkLogFields(Path file, long fileOffset, String name) throws CorruptDiskException {
    boolean logEmpty = logGuid.equals(Le.ZERO_GUID);
    if (logVersion != 0 && !logEmpty) {
      throw new CorruptDiskException(
          file, name, fileOffset + 64,
          "the log version is " + logVersion + " and the log is not empty; only version 0 can be"
              + " replayed");
    }
    if (logOffsetBytes % Le.MIB != 0 || logOffsetBytes < Le.MIB
        || logLengthBytes % Le.MIB != 0 || logOffsetBytes > (1L << 52)
        || (!logEmpty && logLengthBytes == 0)) {
      throw new CorruptDiskException(
          file, name, fileOffset + 68,
          "the log at offset " + logOffsetBytes + " of " + logLengthBytes + " bytes is not a"
              + " non-empty multiple of 1 MiB at a 1 MiB-aligned offset past the first MiB");
    }
  }

  boolean logEmpty() {
    return logGuid.equals(Le.ZERO_GUID);
  }

  Header next(UUID fileWrite, UUID dataWrite, UUID log) {
    return new Header(
        sequenceNumber + 1, fileWrite, dataWrite, log, 0, 1, logLengthBytes, logOffsetBytes);
  }

  byte[] encode() {
    byte[] b = new byte[SIZE];
    Le.putSignature(b, 0, "head");
    Le.put64(b, 8, sequenceNumber);
    Le.putGuid(b, 16, fileWriteGuid);
    Le.putGuid(b, 32, dataWriteGuid);
    Le.putGuid(b, 48, logGuid);
    Le.put16(b, 64, logVersion);
    Le.put16(b, 66, version);
    Le.put32(b, 68, logLengthBytes);
    Le.put64(b, 72, logOffsetBytes);
    Le.put32(b, 4, Le.crc(b, 0, SIZE, 4));
    return b;
  }
}
