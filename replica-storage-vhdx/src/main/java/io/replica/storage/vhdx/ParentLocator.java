package io.replica.storage.vhdx;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

/** The parent locator item of a differencing file (MS-VHDX 2.6.2.6): key/value pairs. */
record ParentLocator(UUID type, Map<String, String> entries) {

  static final UUID VHDX_TYPE = UUID.fromString("B04AEFB7-D19E-4A81-B789-25B8E9445913");

  ParentLocator {
    entries = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(entries));
  }

  static ParentLocator parse(Path file, byte[] b, long fileOffset) throws CorruptDiskException {
    String name = "parent locator";
    if (b.length < 20) {
      throw new CorruptDiskException(
          file, name, fileOffset, "the item is " + b.length + " bytes, shorter than its header");
    }
    UUID type = Le.guid(b, 0);
    if (!type.equals(VHDX_TYPE)) {
      throw new CorruptDiskException(
          file, name, fileOffset, "the locator type " + type + " is unknown");
    }
    int count = Le.u16(b, 18);
    if (20L + 12L * count > b.length) {
      throw new CorruptDiskException(
          file, name, fileOffset + 18,
          "the " + count + " key/value entries do not fit in the " + b.length + "-byte item");
    }
    Map<String, String> entries = new LinkedHashMap<>();
    for (int i = 0; i < count; i++) {
      int at = 20 + 12 * i;
      long keyOff = Le.u32(b, at);
      long valueOff = Le.u32(b, at + 4);
      int keyLen = Le.u16(b, at + 8);
      int valueLen = Le.u16(b, at + 10);
      if (keyOff == 0 || valueOff == 0 || keyLen == 0 || valueLen == 0
          || keyLen % 2 != 0 || valueLen % 2 != 0
          || keyOff + keyLen > b.length || valueOff + valueLen > b.length) {
        throw new CorruptDiskException(
            file, name + " entry " + i, fileOffset + at,
            "the key or value lies outside the " + b.length + "-byte item or is empty");
      }
      String key = new String(b, (int) keyOff, keyLen, StandardCharsets.UTF_16LE);
      String value = new String(b, (int) valueOff, valueLen, StandardCharsets.UTF_16LE);
      if (entries.put(key, value) != null) {
        throw new CorruptDiskException(
            file, name + " entry " + i, fileOffset + at, "the key '" + key + "' appears twice");
      }
    }
    if (!entries.containsKey("parent_linkage")) {
      throw new CorruptDiskException(
          file, name, fileOffset, "the required key 'parent_linkage' is missing");
    }
    for (String key : new String[] {"parent_linkage", "parent_linkage2"}) {
      String value = entries.get(key);
      if (value != null && guid(value) == null) {
        throw new CorruptDiskException(
            file, name, fileOffset, "the value of '" + key + "' is not a GUID: '" + value + "'");
      }
    }
    if (!entries.containsKey("relative_path") && !entries.containsKey("volume_path")
        && !entries.containsKey("absolute_win32_path")) {
      throw new CorruptDiskException(
          file, name, fileOffset, "there is no path to the parent");
    }
    return new ParentLocator(type, entries);
  }

  byte[] encode() {
    int count = entries.size();
    int size = 20 + 12 * count;
    for (Map.Entry<String, String> e : entries.entrySet()) {
      size += 2 * e.getKey().length() + 2 * e.getValue().length();
    }
    byte[] b = new byte[size];
    Le.putGuid(b, 0, type);
    Le.put16(b, 18, count);
    int data = 20 + 12 * count;
    int i = 0;
    for (Map.Entry<String, String> e : entries.entrySet()) {
      byte[] k = e.getKey().getBytes(StandardCharsets.UTF_16LE);
      byte[] v = e.getValue().getBytes(StandardCharsets.UTF_16LE);
      int at = 20 + 12 * i++;
      Le.put32(b, at, data);
      System.arraycopy(k, 0, b, data, k.length);
      data += k.length;
      Le.put32(b, at + 4, data);
      System.arraycopy(v, 0, b, data, v.length);
      data += v.length;
      Le.put16(b, at + 8, k.length);
      Le.put16(b, at + 10, v.length);
    }
    return b;
  }

  /** Whether {@code dataWriteGuid} is the identity this locator expects of its parent. */
  boolean linksTo(UUID dataWriteGuid) {
    return matches(entries.get("parent_linkage"), dataWriteGuid)
        || matches(entries.get("parent_linkage2"), dataWriteGuid);
  }

  private static boolean matches(String value, UUID guid) {
    return value != null && guid.equals(guid(value));
  }

  /**
   * A linkage value as a GUID, or null if it is none: 32 hex digits in the 8-4-4-4-12 form,
   * braces optional, any case (the spec says lower case, its example is upper case).
   */
  static UUID guid(String value) {
    String v = value.trim();
    if (v.startsWith("{") && v.endsWith("}")) {
      v = v.substring(1, v.length() - 1);
    }
    if (v.length() != 36) {
      return null;
    }
    for (int i = 0; i < 36; i++) {
      char c = v.charAt(i);
      boolean dash = i == 8 || i == 13 || i == 18 || i == 23;
      boolean hex = c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F';
      if (dash ? c != '-' : !hex) {
        return null;
      }
    }
    return UUID.fromString(v);
  }

  static String linkage(UUID guid) {
    return "{" + guid + "}";
  }
}
