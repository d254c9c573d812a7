package io.replica.storage.vhdx;

import static io.replica.storage.vhdx.Tools.pattern;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.replica.spi.storage.DiskSpec;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Single-byte changes in the headers, region tables, metadata and BAT of sample files: each
 * changed file must then open and read or be refused with a {@link CorruptDiskException} naming a
 * structure and an offset inside the file, never another exception, a hang or an
 * OutOfMemoryError.
 *
 * <p>Every byte of every field that carries meaning takes all 255 other values: the file type
 * signature, the first 80 bytes of both headers, the header and entries of both region tables,
 * the metadata table's header and entries, every metadata item (the parent locator included),
 * and the BAT entries of every payload block and sector bitmap the samples have.
 *
 * <p>Two kinds of padding are only sampled, three values every few hundred or thousand bytes.
 * The reserved rest of each header (4016 bytes) and region table (about 64 KiB) is covered by
 * the structure's CRC-32C, which detects every error within 32 consecutive bits, so any
 * single-byte change there makes that copy invalid whatever the position and value; the samples
 * check that the reader then falls back or refuses. The metadata table past its last entry is
 * not covered by a checksum but is never read: only the entry count says how many entries there
 * are, and one changed byte cannot change the count and the padding at once.
 *
 * <p>Each variant is opened from an in-memory copy, on two threads; a differencing sample opens
 * its (unchanged) parent from the disk. After a successful open every block is read at its first,
 * middle and last sector and the allocated ranges are listed, and {@link VhdxCheck} must then
 * find nothing wrong with the BAT: a BAT entry that check rejects must not open and read as zeros.
 */
class CorruptInputTest {

  private static final int MIB = 1024 * 1024;
  private static final int THREADS = 2;
  private static final int[] SAMPLED_XORS = {0x01, 0x80, 0xff};
  private static final int FAILURES_SHOWN = 20;

  @TempDir Path dir;

  /** A run of bytes to change, and how. */
  private record Span(String structure, long offset, long length, int step) {
    static Span every(String structure, long offset, long length) {
      return new Span(structure, offset, length, 1);
    }
  }

  @Test
  void everyValueInOurDynamicFile() throws Exception {
    Path sample = dir.resolve("dynamic.vhdx");
    try (VhdxDisk disk = VhdxDisk.create(sample, new DiskSpec(4L * MIB, 512, 4096, false), MIB)) {
      disk.write(0, ByteBuffer.wrap(pattern(1, 4096)));
      disk.write(2L * MIB + 512, ByteBuffer.wrap(pattern(2, 8192)));
      disk.trim(MIB, MIB);
    }
    mutateEverywhere(sample);
  }

  @Test
  void everyValueInAQemuFile() throws Exception {
    Assumptions.assumeTrue(Tools.available("qemu-img"));
    Path sample = dir.resolve("qemu.vhdx");
    Tools.ok("qemu-img", "create", "-q", "-f", "vhdx", "-o", "block_size=1M", sample.toString(),
        "3M");
    Tools.ok("qemu-io", "-f", "vhdx", "-c", "write -P 0x61 1M 4k", sample.toString());
    mutateEverywhere(sample);
  }

  @Test
  void everyValueInOurDifferencingFile() throws Exception {
    Path parent = dir.resolve("parent.vhdx");
    try (VhdxDisk disk = VhdxDisk.create(parent, new DiskSpec(4L * MIB, 512, 4096, false), MIB)) {
      disk.write(0, ByteBuffer.wrap(pattern(3, 3 * MIB)));
    }
    Path child = dir.resolve("child.avhdx");
    try (VhdxDisk disk = VhdxDisk.createChild(child, parent)) {
      // A partly written block (sector bitmap) and a whole one.
      disk.write(4096, ByteBuffer.wrap(pattern(4, 1024)));
      disk.write(2L * MIB, ByteBuffer.wrap(pattern(5, 2 * MIB)));
    }
    mutateEverywhere(child);
  }

  private static List<Span> spans(Path sample, long fileLength) throws Exception {
    List<Span> spans = new ArrayList<>();
    spans.add(Span.every("file type identifier", 0, 8));
    for (int slot = 0; slot < 2; slot++) {
      long h = Header.offsetOf(slot);
      spans.add(Span.every("header " + (slot + 1), h, 80));
      spans.add(new Span("header " + (slot + 1) + " reserved", h + 80, Header.SIZE - 80, 331));
    }
    try (VhdxFile f = VhdxFile.open(sample, false, false)) {
      int regions = f.regions().entries().size();
      for (long r : new long[] {RegionTable.OFFSET_1, RegionTable.OFFSET_2}) {
        String name = r == RegionTable.OFFSET_1 ? "region table 1" : "region table 2";
        long used = 16 + 32L * regions;
        spans.add(Span.every(name, r, used));
        spans.add(new Span(name + " reserved", r + used, RegionTable.SIZE - used, 4099));
      }
      RegionTable.Entry meta = f.regions().find(RegionTable.METADATA);
      List<Metadata.Item> items = f.metadata().items();
      long table = 32 + 32L * items.size();
      spans.add(Span.every("metadata table", meta.fileOffset(), table));
      spans.add(new Span("metadata table padding", meta.fileOffset() + table,
          Metadata.TABLE_SIZE - table, 4099));
      for (Metadata.Item item : items) {
        spans.add(Span.every("metadata item " + item.id(), meta.fileOffset() + item.offset(),
            item.length()));
      }
      long bat = f.regions().find(RegionTable.BAT).fileOffset();
      int chunkRatio = f.metadata().chunkRatio();
      long blocks = f.metadata().dataBlocks();
      for (long block = 0; block < blocks; block++) {
        spans.add(Span.every("BAT entry of block " + block, bat + 8 * (block + block / chunkRatio),
            8));
      }
      for (long chunk = 0; chunk <= (blocks - 1) / chunkRatio; chunk++) {
        spans.add(Span.every("BAT entry of sector bitmap " + chunk,
            bat + 8 * (chunk * (chunkRatio + 1) + chunkRatio), 8));
      }
    }
    for (Span s : spans) {
      assertTrue(s.offset() >= 0 && s.offset() + s.length() <= fileLength, s.toString());
    }
    return spans;
  }

  private void mutateEverywhere(Path sample) throws Exception {
    byte[] original = Files.readAllBytes(sample);
    List<Span> spans = spans(sample, original.length);
    // The harness itself: the unchanged copy reads what the file on disk reads.
    try (VhdxFile fromDisk = VhdxFile.open(sample, false, false);
        VhdxFile fromMemory = VhdxFile.open(sample, new MemoryChannel(original), false)) {
      assertArrayEquals(readSamples(fromDisk), readSamples(fromMemory));
    }
    AtomicLong opened = new AtomicLong();
    AtomicLong refused = new AtomicLong();
    Queue<String> failures = new ConcurrentLinkedQueue<>();
    AtomicReferenceArray<String> current = new AtomicReferenceArray<>(THREADS);
    ExecutorService workers = Executors.newFixedThreadPool(THREADS, r -> {
      Thread t = new Thread(r, "corrupt-input");
      t.setDaemon(true);
      return t;
    });
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int w = 0; w < THREADS; w++) {
        int worker = w;
        done.add(workers.submit(() -> {
          byte[] image = original.clone();
          long n = 0;
          for (Span span : spans) {
            for (long pos = span.offset(); pos < span.offset() + span.length();
                pos += span.step()) {
              if (n++ % THREADS != worker) {
                continue;
              }
              int p = (int) pos;
              for (int v = 0; v < 256; v++) {
                byte value = span.step() == 1 ? (byte) v
                    : v < SAMPLED_XORS.length ? (byte) (original[p] ^ SAMPLED_XORS[v])
                    : original[p];
                if (value == original[p]) {
                  continue;
                }
                String what = String.format("byte %d (%s) changed from 0x%02x to 0x%02x", pos,
                    span.structure(), original[p] & 0xff, value & 0xff);
                current.set(worker, what);
                image[p] = value;
                try {
                  openAndRead(sample, image, original.length, opened, refused, what, failures);
                } finally {
                  image[p] = original[p];
                }
              }
            }
          }
          current.set(worker, null);
          return null;
        }));
      }
      for (Future<?> f : done) {
        try {
          // A guard against a hang, not a timing assertion.
          f.get(20, TimeUnit.MINUTES);
        } catch (TimeoutException e) {
          fail(sample.getFileName() + ": no result after 20 minutes; the workers were at "
              + current);
        }
      }
    } finally {
      workers.shutdownNow();
    }
    if (!failures.isEmpty()) {
      List<String> shown = failures.stream().sorted().limit(FAILURES_SHOWN).toList();
      fail(sample.getFileName() + ": " + failures.size() + " changes gave neither a read nor a"
          + " CorruptDiskException (or opened although check rejects them), e.g.:\n  "
          + String.join("\n  ", shown));
    }
    // Both outcomes must occur, or the mutations never reached the reader.
    assertTrue(opened.get() > 0 && refused.get() > 0,
        "opened " + opened + ", refused " + refused);
  }

  private static void openAndRead(Path sample, byte[] image, long fileLength, AtomicLong opened,
      AtomicLong refused, String what, Queue<String> failures) {
    try (VhdxFile f = VhdxFile.open(sample, new MemoryChannel(image), false)) {
      readSamples(f);
      f.allocatedRanges();
      opened.incrementAndGet();
      // What 'disk check' finds wrong with a BAT entry, opening and reading must refuse too:
      // otherwise the reader serves zeros for data that is not there.
      List<String> batProblems = VhdxCheck.check(sample, new MemoryChannel(image)).stream()
          .filter(p -> p.startsWith("BAT entry")).toList();
      if (!batProblems.isEmpty()) {
        failures.add(what + ": opens and reads, but check reports " + batProblems);
      }
    } catch (CorruptDiskException e) {
      refused.incrementAndGet();
      if (e.structure().isBlank() || e.fileOffset() < 0
          || e.fileOffset() >= fileLength + 64L * MIB) {
        failures.add(what + ": the exception names no structure or an offset outside the file: "
            + e.getMessage());
      }
    } catch (Throwable t) {
      failures.add(what + ": threw " + t);
    }
  }

  /** The first, middle and last sector of every block, concatenated. */
  private static byte[] readSamples(VhdxFile f) throws Exception {
    long size = f.sizeBytes();
    long bs = f.blockSize();
    int sector = f.logicalSectorSize();
    long blocks = (size + bs - 1) / bs;
    // A changed size can make the disk huge; its first blocks and the last one are enough.
    long readBlocks = Math.min(blocks, 64);
    ByteBuffer out = ByteBuffer.allocate((int) (3 * sector * (readBlocks + 1)));
    for (long i = 0; i <= readBlocks; i++) {
      long block = i < readBlocks ? i : blocks - 1;
      long start = block * bs;
      long end = Math.min(start + bs, size);
      for (long at : new long[] {start, start + (end - start) / 2 / sector * sector,
          end - sector}) {
        ByteBuffer b = out.slice(out.position(), sector);
        f.read(at, b);
        out.position(out.position() + sector);
      }
    }
    return out.array();
  }
}
