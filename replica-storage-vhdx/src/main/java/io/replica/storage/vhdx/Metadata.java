package io.replica.storage.vhdx;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;

/**
 * The metadata region (MS-VHDX 2.6): the table and the system items that give the geometry.
 *
 * @param items every table entry, kept so that unknown items survive and virtual-disk items can
 *     be copied into a child
 * @param virtualSizeFileOffset where the 8-byte virtual size lives, for growing the disk
 * @param logicalSectorSizeFileOffset where the logical sector size lives, for error messages
 */
record Metadata(
    long blockSizeBytes,
    boolean leaveBlocksAllocated,
    boolean hasParent,
    long virtualSizeBytes,
    UUID virtualDiskId,
    int logicalSectorSizeBytes,
    int physicalSectorSizeBytes,
    ParentLocator parentLocator,
    long parentLocatorFileOffset,
    long virtualSizeFileOffset,
    long logicalSectorSizeFileOffset,
    List<Item> items) {

  static final UUID FILE_PARAMETERS = UUID.fromString("CAA16737-FA36-4D43-B3B6-33F0AA44E76B");
  static final UUID VIRTUAL_DISK_SIZE = UUID.fromString("2FA54224-CD1B-4876-B211-5DBED83BF4B8");
  static final UUID VIRTUAL_DISK_ID = UUID.fromString("BECA12AB-B2E6-4523-93EF-C309E000C746");
  static final UUID LOGICAL_SECTOR_SIZE = UUID.fromString("8141BF1D-A96F-4709-BA47-F233A8FAAB5F");
  static final UUID PHYSICAL_SECTOR_SIZE =
      UUID.fromString("CDA348C7-445D-4471-9CC9-E9885251C556");
  static final UUID PARENT_LOCATOR = UUID.fromString("A8D35F2D-B30B-454D-ABF7-D3D84834AB0C");

  static final int TABLE_SIZE = 64 * Le.KIB;
  static final long MAX_VIRTUAL_SIZE = 64L << 40;
  static final int FLAG_USER = 1;
  static final int FLAG_VIRTUAL_DISK = 2;
  static final int FLAG_REQUIRED = 4;

  /** One table entry; {@code offset} is relative to the region start. */
  record Item(UUID id, long offset, long length, int flags) {}

  interface Reader {
    byte[] read(long fileOffset, int length) throws IOException;
  }

  static Metadata parse(Path file, Reader io, long regionOffset, long regionLength)
      throws IOException {
    if (regionLength < TABLE_SIZE) {
      throw new CorruptDiskException(
          file, "metadata region", regionOffset, "it is shorter than its 64 KiB table");
    }
    byte[] t = io.read(regionOffset, TABLE_SIZE);
    String table = "metadata table";
    if (!Le.signature(t, 0, "metadata")) {
      throw new CorruptDiskException(file, table, regionOffset, "the signature is not 'metadata'");
    }
    int count = Le.u16(t, 10);
    if (count > 2047) {
      throw new CorruptDiskException(
          file, table, regionOffset + 10, "the entry count " + count + " exceeds 2047");
    }
    List<Item> items = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    long blockSize = -1;
    long flags = 0;
    long virtualSize = -1;
    long virtualSizeAt = -1;
    UUID diskId = null;
    long logical = -1;
    long logicalAt = -1;
    long physical = -1;
    byte[] locatorBytes = null;
    long locatorAt = -1;
    int userItems = 0;
    for (int i = 0; i < count; i++) {
      int at = 32 + 32 * i;
      long entryAt = regionOffset + at;
      String what = "metadata table entry " + i;
      Item item = new Item(Le.guid(t, at), Le.u32(t, at + 16), Le.u32(t, at + 20),
          (int) Le.u32(t, at + 24));
      boolean user = (item.flags & FLAG_USER) != 0;
      if ((item.flags & ~7) != 0) {
        throw new CorruptDiskException(
            file, what, entryAt + 24, "reserved flag bits are set: " + Le.hex(item.flags));
      }
      if (item.length > Le.MIB
          || (item.length == 0 ? item.offset != 0 && item.offset < TABLE_SIZE
              : item.offset < TABLE_SIZE)
          || item.offset + item.length > regionLength) {
        throw new CorruptDiskException(
            file, what, entryAt + 16,
            "item " + item.id + " at region offset " + item.offset + " of " + item.length
                + " bytes lies outside the metadata region or inside its table");
      }
      if (!seen.add(item.id + "/" + user)) {
        throw new CorruptDiskException(
            file, what, entryAt, "item " + item.id + " appears twice");
      }
      if (user && ++userItems > 1024) {
        throw new CorruptDiskException(file, what, entryAt, "there are more than 1024 user items");
      }
      for (Item other : items) {
        if (item.length > 0 && other.length > 0 && item.offset < other.offset + other.length
            && other.offset < item.offset + item.length) {
          throw new CorruptDiskException(
              file, what, entryAt + 16, "item " + item.id + " overlaps item " + other.id);
        }
      }
      items.add(item);
      long itemAt = regionOffset + item.offset;
      if (user) {
        continue;
      }
      UUID id = item.id;
      if (id.equals(FILE_PARAMETERS)) {
        byte[] b = readItem(file, io, item, itemAt, what, 8);
        blockSize = Le.u32(b, 0);
        flags = Le.u32(b, 4);
        if (!Le.isPowerOfTwo(blockSize) || blockSize < Le.MIB || blockSize > 256L * Le.MIB) {
          throw new CorruptDiskException(
              file, "file parameters", itemAt,
              "the block size " + blockSize + " is not a power of two from 1 MiB to 256 MiB");
        }
      } else if (id.equals(VIRTUAL_DISK_SIZE)) {
        virtualSize = Le.u64(readItem(file, io, item, itemAt, what, 8), 0);
        virtualSizeAt = itemAt;
      } else if (id.equals(VIRTUAL_DISK_ID)) {
        diskId = Le.guid(readItem(file, io, item, itemAt, what, 16), 0);
      } else if (id.equals(LOGICAL_SECTOR_SIZE)) {
        logical = Le.u32(readItem(file, io, item, itemAt, what, 4), 0);
        logicalAt = itemAt;
        if (logical != 512 && logical != 4096) {
          throw new CorruptDiskException(
              file, "logical sector size", itemAt, "the value " + logical + " is not 512 or 4096");
        }
      } else if (id.equals(PHYSICAL_SECTOR_SIZE)) {
        physical = Le.u32(readItem(file, io, item, itemAt, what, 4), 0);
        if (physical != 512 && physical != 4096) {
          throw new CorruptDiskException(
              file, "physical sector size", itemAt,
              "the value " + physical + " is not 512 or 4096");
        }
      } else if (id.equals(PARENT_LOCATOR)) {
        locatorBytes = readItem(file, io, item, itemAt, what, -1);
        locatorAt = itemAt;
      } else if ((item.flags & FLAG_REQUIRED) != 0) {
        throw new CorruptDiskException(
            file, what, entryAt,
            "the required item " + id + " is unknown to this implementation");
      }
    }
    String missing =
        blockSize < 0 ? "file parameters"
            : virtualSize < 0 ? "virtual disk size"
            : diskId == null ? "virtual disk id"
            : logical < 0 ? "logical sector size"
            : physical < 0 ? "physical sector size" : null;
    if (missing != null) {
      throw new CorruptDiskException(
          file, table, regionOffset, "the required item '" + missing + "' is missing");
    }
    if (virtualSize <= 0 || virtualSize % logical != 0 || virtualSize > MAX_VIRTUAL_SIZE) {
      throw new CorruptDiskException(
          file, "virtual disk size", virtualSizeAt,
          "the size " + virtualSize + " is not a positive multiple of the logical sector size "
              + logical + " up to 64 TiB");
    }
    boolean hasParent = (flags & 2) != 0;
    ParentLocator locator = null;
    if (hasParent) {
      if (locatorBytes == null) {
        throw new CorruptDiskException(
            file, table, regionOffset, "the file has a parent but no parent locator item");
      }
      locator = ParentLocator.parse(file, locatorBytes, locatorAt);
    }
    return new Metadata(
        blockSize, (flags & 1) != 0, hasParent, virtualSize, diskId, (int) logical,
        (int) physical, locator, locatorAt, virtualSizeAt, logicalAt, items);
  }

  private static byte[] readItem(
      Path file, Reader io, Item item, long itemAt, String what, int expected)
      throws IOException {
    if (expected >= 0 && item.length != expected) {
      throw new CorruptDiskException(
          file, what, itemAt,
          "item " + item.id + " is " + item.length + " bytes, not " + expected);
    }
    return io.read(itemAt, (int) item.length);
  }

  int chunkRatio() {
    return (int) ((1L << 23) * logicalSectorSizeBytes / blockSizeBytes);
  }

  long dataBlocks() {
    return (virtualSizeBytes + blockSizeBytes - 1) / blockSizeBytes;
  }

  /** BAT entries the file needs: the differencing count when it has a parent. */
  long batEntries() {
    return batEntries(dataBlocks(), chunkRatio(), hasParent);
  }

  static long batEntries(long dataBlocks, int chunkRatio, boolean differencing) {
    long bitmapBlocks = (dataBlocks + chunkRatio - 1) / chunkRatio;
    return differencing
        ? bitmapBlocks * (chunkRatio + 1)
        : dataBlocks + (dataBlocks - 1) / chunkRatio;
  }

  /** Encodes a new metadata region of {@code regionLength} bytes holding the given items. */
  static byte[] encodeRegion(
      long blockSize, boolean leaveAllocated, long virtualSize, UUID diskId, int logical,
      int physical, ParentLocator locator) {
    byte[] region = new byte[Le.MIB];
    List<UUID> ids = new ArrayList<>(List.of(
        FILE_PARAMETERS, VIRTUAL_DISK_SIZE, VIRTUAL_DISK_ID, LOGICAL_SECTOR_SIZE,
        PHYSICAL_SECTOR_SIZE));
    if (locator != null) {
      ids.add(PARENT_LOCATOR);
    }
    Le.putSignature(region, 0, "metadata");
    Le.put16(region, 10, ids.size());
    int data = TABLE_SIZE;
    for (int i = 0; i < ids.size(); i++) {
      UUID id = ids.get(i);
      byte[] item;
      int flags;
      if (id.equals(FILE_PARAMETERS)) {
        item = new byte[8];
        Le.put32(item, 0, blockSize);
        Le.put32(item, 4, (leaveAllocated ? 1 : 0) | (locator != null ? 2 : 0));
        flags = FLAG_REQUIRED;
      } else if (id.equals(VIRTUAL_DISK_SIZE)) {
        item = new byte[8];
        Le.put64(item, 0, virtualSize);
        flags = FLAG_REQUIRED | FLAG_VIRTUAL_DISK;
      } else if (id.equals(VIRTUAL_DISK_ID)) {
        item = new byte[16];
        Le.putGuid(item, 0, diskId);
        flags = FLAG_REQUIRED | FLAG_VIRTUAL_DISK;
      } else if (id.equals(LOGICAL_SECTOR_SIZE)) {
        item = new byte[4];
        Le.put32(item, 0, logical);
        flags = FLAG_REQUIRED | FLAG_VIRTUAL_DISK;
      } else if (id.equals(PHYSICAL_SECTOR_SIZE)) {
        item = new byte[4];
        Le.put32(item, 0, physical);
        flags = FLAG_REQUIRED | FLAG_VIRTUAL_DISK;
      } else {
        item = locator.encode();
        flags = FLAG_REQUIRED;
      }
      int at = 32 + 32 * i;
      Le.putGuid(region, at, id);
      Le.put32(region, at + 16, data);
      Le.put32(region, at + 20, item.length);
      Le.put32(region, at + 24, flags);
      System.arraycopy(item, 0, region, data, item.length);
      data += item.length;
    }
    return region;
  }
}
