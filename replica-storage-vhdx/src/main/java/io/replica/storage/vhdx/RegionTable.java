package io.replica.storage.vhdx;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;

/** The region table (MS-VHDX 2.2.3): where the BAT and the metadata region lie. */
record RegionTable(List<RegionTable.Entry> entries) {

  static final long OFFSET_1 = 192L * Le.KIB;
  static final long OFFSET_2 = 256L * Le.KIB;
  static final int SIZE = 64 * Le.KIB;
  static final int MAX_ENTRIES = 2047;
  static final UUID BAT = UUID.fromString("2DC27766-F623-4200-9D64-115E9BFD4A08");
  static final UUID METADATA = UUID.fromString("8B7CA206-4790-4B9A-B8FE-575F050F886E");

  /** One region: a 1 MiB-aligned range of the file. */
  record Entry(UUID guid, long fileOffset, long length, boolean required) {
    long end() {
      return fileOffset + length;
    }
  }

  RegionTable {
    entries = List.copyOf(entries);
  }

  static RegionTable parse(Path file, byte[] b, long fileOffset, String name)
      throws CorruptDiskException {
    if (!Le.signature(b, 0, "regi")) {
      throw new CorruptDiskException(file, name, fileOffset, "the signature is not 'regi'");
    }
    long stored = Le.u32(b, 4);
    long computed = Le.crc(b, 0, SIZE, 4);
    if (stored != computed) {
      throw new CorruptDiskException(
          file, name, fileOffset,
          "the CRC-32C checksum is " + Le.hex(stored) + " but the content gives "
              + Le.hex(computed));
    }
    long count = Le.u32(b, 8);
    if (count > MAX_ENTRIES) {
      throw new CorruptDiskException(
          file, name, fileOffset + 8, "the entry count " + count + " exceeds " + MAX_ENTRIES);
    }
    List<Entry> entries = new ArrayList<>();
    Set<UUID> seen = new HashSet<>();
    for (int i = 0; i < count; i++) {
      int at = 16 + 32 * i;
      String what = name + " entry " + i;
      Entry e =
          new Entry(Le.guid(b, at), Le.u64(b, at + 16), Le.u32(b, at + 24),
              (Le.u32(b, at + 28) & 1) != 0);
      if (e.fileOffset % Le.MIB != 0 || e.fileOffset < Le.MIB || e.fileOffset > (1L << 52)
          || e.length % Le.MIB != 0 || e.length == 0) {
        throw new CorruptDiskException(
            file, what, fileOffset + at,
            "region " + e.guid + " at offset " + e.fileOffset + " of " + e.length
                + " bytes is not a non-empty multiple of 1 MiB at a 1 MiB-aligned offset past"
                + " the first MiB");
      }
      if (!seen.add(e.guid)) {
        throw new CorruptDiskException(
            file, what, fileOffset + at, "region " + e.guid + " appears twice");
      }
      if (e.required && !e.guid.equals(BAT) && !e.guid.equals(METADATA)) {
        throw new CorruptDiskException(
            file, what, fileOffset + at,
            "region " + e.guid + " is marked required but this implementation does not know it");
      }
      for (Entry other : entries) {
        if (e.fileOffset < other.end() && other.fileOffset < e.end()) {
          throw new CorruptDiskException(
              file, what, fileOffset + at,
              "region " + e.guid + " overlaps region " + other.guid);
        }
      }
      entries.add(e);
    }
    RegionTable table = new RegionTable(entries);
    if (table.find(BAT) == null || table.find(METADATA) == null) {
      throw new CorruptDiskException(
          file, name, fileOffset, "the BAT or the metadata region is missing");
    }
    return table;
  }

  Entry find(UUID guid) {
    for (Entry e : entries) {
      if (e.guid.equals(guid)) {
        return e;
      }
    }
    return null;
  }

  RegionTable with(Entry replaced) {
    List<Entry> list = new ArrayList<>();
    for (Entry e : entries) {
      list.add(e.guid.equals(replaced.guid) ? replaced : e);
    }
    return new RegionTable(list);
  }

  byte[] encode() {
    byte[] b = new byte[SIZE];
    Le.putSignature(b, 0, "regi");
    Le.put32(b, 8, entries.size());
    for (int i = 0; i < entries.size(); i++) {
      Entry e = entries.get(i);
      int at = 16 + 32 * i;
      Le.putGuid(b, at, e.guid);
      Le.put64(b, at + 16, e.fileOffset);
      Le.put32(b, at + 24, e.length);
      Le.put32(b, at + 28, e.required ? 1 : 0);
    }
    Le.put32(b, 4, Le.crc(b, 0, SIZE, 4));
    return b;
  }
}
