package io.replica.storage.vhdx;

import static io.replica.storage.vhdx.Tools.pattern;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.replica.spi.storage.DiskSpec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Single-byte changes in the headers, region tables, metadata and BAT of sample files: each file
 * must then read completely or be refused with a CorruptDiskException naming a structure and an
 * offset inside the file, never another exception, a hang or an OutOfMemoryError.
 *
 * <p>Every byte of the fields that carry meaning is changed five ways (xor 0x01, xor 0x80, xor
 * 0xff, 0x00, 0xff); the unused, checksum-covered rest of each structure is sampled.
 */
class CorruptInputTest {

  private static final int MIB = 1024 * 1024;
  private static final int[][] VARIANTS = {{1, 0}, {0x80, 0}, {0xff, 0}, {-1, 0}, {-1, 0xff}};

  @TempDir Path dir;

  @Test
  void singleByteChangesInOurDynamicFile() throws Exception {
    Path sample = dir.resolve("dynamic.vhdx");
    try (VhdxDisk disk = VhdxDisk.create(sample, new DiskSpec(4L * MIB, 512, 4096, false), MIB)) {
      disk.write(0, ByteBuffer.wrap(pattern(1, 4096)));
      disk.write(2L * MIB + 512, ByteBuffer.wrap(pattern(2, 8192)));
      disk.trim(MIB, MIB);
    }
    mutateEverywhere(sample);
  }

  @Test
  void singleByteChangesInAQemuFile() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(Tools.available("qemu-img"));
    Path sample = dir.resolve("qemu.vhdx");
    Tools.ok("qemu-img", "create", "-q", "-f", "vhdx", "-o", "block_size=1M", sample.toString(),
        "3M");
    Tools.ok("qemu-io", "-f", "vhdx", "-c", "write -P 0x61 1M 4k", sample.toString());
    mutateEverywhere(sample);
  }

  private void mutateEverywhere(Path sample) throws Exception {
    byte[] original = Files.readAllBytes(sample);
    List<Long> positions = new ArrayList<>();
    // Headers: the fields (80 bytes), and samples of the reserved rest.
    for (long h : new long[] {Header.OFFSET_1, Header.OFFSET_2}) {
      addRange(positions, h, 80, 1);
      addRange(positions, h + 80, 4096 - 80, 331);
    }
    // Region tables: header and the entries, then samples.
    for (long r : new long[] {RegionTable.OFFSET_1, RegionTable.OFFSET_2}) {
      addRange(positions, r, 16 + 32 * 2, 1);
      addRange(positions, r + 96, RegionTable.SIZE - 96, 4099);
    }
    try (VhdxDisk disk = VhdxDisk.open(sample, true)) {
      RegionTable.Entry meta = disk.file().regions().find(RegionTable.METADATA);
      RegionTable.Entry bat = disk.file().regions().find(RegionTable.BAT);
      int items = disk.file().metadata().items().size();
      addRange(positions, meta.fileOffset(), 32 + 32 * items, 1);
      for (Metadata.Item item : disk.file().metadata().items()) {
        addRange(positions, meta.fileOffset() + item.offset(), (int) item.length(), 1);
      }
      addRange(positions, bat.fileOffset(), 8 * 8, 1);
    }
    Path file = dir.resolve("mutant.vhdx");
    Files.write(file, original);
    int refused = 0;
    for (long pos : positions) {
      for (int[] v : VARIANTS) {
        int p = (int) pos;
        byte changed = v[0] >= 0 ? (byte) (original[p] ^ v[0]) : (byte) v[1];
        if (changed == original[p]) {
          continue;
        }
        poke(file, p, changed);
        String what = "with byte " + pos + " changed from " + original[p] + " to " + changed;
        try (VhdxDisk disk = VhdxDisk.open(file, true)) {
          long size = disk.sizeBytes();
          ByteBuffer b = ByteBuffer.allocate(MIB);
          for (long at = 0; at < Math.min(size, 8L * MIB); at += MIB) {
            b.clear().limit((int) Math.min(MIB, size - at));
            disk.read(at, b);
          }
          disk.allocatedRanges();
        } catch (CorruptDiskException e) {
          refused++;
          assertTrue(!e.structure().isBlank() && e.fileOffset() >= 0
              && e.fileOffset() < original.length + 64L * MIB, what + ": " + e.getMessage());
        } catch (Throwable t) {
          fail(sample.getFileName() + " " + what + " threw " + t, t);
        } finally {
          poke(file, p, original[p]);
        }
      }
    }
    assertTrue(refused > positions.size(), "most changes should be refused, only " + refused
        + " were");
  }

  private static void poke(Path file, long pos, byte value) throws IOException {
    try (java.nio.channels.FileChannel ch =
        java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.WRITE)) {
      ch.write(ByteBuffer.wrap(new byte[] {value}), pos);
    }
  }

  private static void addRange(List<Long> out, long from, int length, int step) {
    for (long i = 0; i < length; i += step) {
      out.add(from + i);
    }
  }
}
