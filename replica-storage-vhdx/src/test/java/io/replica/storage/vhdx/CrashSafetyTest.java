package io.replica.storage.vhdx;

import static io.replica.storage.vhdx.Tools.pattern;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.replica.spi.storage.DiskSpec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Interrupts a workload at every single write, whole or torn, and checks that the file then
 * opens (read-only, then writable) to the state of the last completed flush or of the next one.
 */
class CrashSafetyTest {

  private static final int MIB = 1024 * 1024;
  private static final long GIB = 1024L * MIB;
  /** Large and sparse: BAT changes span several BAT pages, and growing moves the BAT. */
  private static final long SIZE = 100 * GIB;
  private static final long GROWN = 200 * GIB;
  /** The ranges whose content the states record: every range the workload touches. */
  private static final long[][] PROBES = {
    {0, 64 * 1024}, {3L * MIB, MIB}, {5L * MIB, MIB}, {700L * MIB, 8192}, {5000L * MIB, 4096},
    {150 * GIB, 4096}, {199 * GIB + 512, 512}, {7L * MIB, 4096},
  };

  @TempDir Path dir;

  /** The workload: steps separated by flushes; adds the state after each flush to states. */
  private static void run(VhdxDisk disk, List<byte[]> states) throws IOException {
    // Step 1: new blocks in three BAT pages (first use of the log in this session).
    disk.write(0, ByteBuffer.wrap(pattern(1, 64 * 1024)));
    disk.write(3L * MIB + 4096, ByteBuffer.wrap(pattern(2, 8192)));
    disk.write(5L * MIB, ByteBuffer.wrap(pattern(3, MIB)));
    disk.write(700L * MIB, ByteBuffer.wrap(pattern(4, 8192)));
    disk.write(5000L * MIB, ByteBuffer.wrap(pattern(5, 4096)));
    disk.flush();
    states.add(state(disk));
    // Step 2: grow past what the BAT region holds (region tables and metadata through the log).
    disk.grow(GROWN);
    disk.flush();
    states.add(state(disk));
    // Step 3: blocks in the grown space, and a trim of whole blocks that makes them ZERO blocks
    // (metadata only: in-place data writes are not atomic, on any disk).
    disk.write(150 * GIB, ByteBuffer.wrap(pattern(6, 4096)));
    disk.write(199 * GIB + 512, ByteBuffer.wrap(pattern(7, 512)));
    disk.write(7L * MIB, ByteBuffer.wrap(pattern(8, 4096)));
    disk.trim(2L * MIB, 2L * MIB);
    disk.flush();
    states.add(state(disk));
  }

  /** The size and the content of every probe range inside it. */
  private static byte[] state(VhdxDisk disk) throws IOException {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    out.write(Long.toString(disk.sizeBytes()).getBytes(java.nio.charset.StandardCharsets.US_ASCII));
    for (long[] probe : PROBES) {
      if (probe[0] + probe[1] <= disk.sizeBytes()) {
        ByteBuffer b = ByteBuffer.allocate((int) probe[1]);
        disk.read(probe[0], b);
        out.write(b.array());
      }
    }
    return out.toByteArray();
  }

  @Test
  void everyInterruptedWriteLeavesTheOldOrTheNewState() throws Exception {
    Path template = dir.resolve("template.vhdx");
    VhdxDisk.create(template, new DiskSpec(SIZE, 512, 4096, false), MIB).close();
    crashEverywhere(template);
  }

  /** The same for a differencing child: sector bitmaps and BAT pages go through the log. */
  @Test
  void everyInterruptedWriteToAChildLeavesTheOldOrTheNewState() throws Exception {
    Path parent = dir.resolve("parent.vhdx");
    try (VhdxDisk p = VhdxDisk.create(parent, new DiskSpec(SIZE, 512, 4096, false), MIB)) {
      for (long[] probe : PROBES) {
        if (probe[0] + probe[1] <= SIZE) {
          p.write(probe[0], ByteBuffer.wrap(pattern(100 + probe[0], (int) probe[1])));
        }
      }
    }
    Path template = dir.resolve("template.avhdx");
    VhdxDisk.createChild(template, parent).close();
    crashEverywhere(template);
  }

  private void crashEverywhere(Path template) throws Exception {
    byte[] empty;
    try (VhdxDisk disk = VhdxDisk.open(template, true)) {
      empty = state(disk);
    }

    // A clean run counts the writes and records the states.
    String ext = template.getFileName().toString().endsWith(".avhdx") ? ".avhdx" : ".vhdx";
    Path clean = dir.resolve("clean" + ext);
    Files.copy(template, clean);
    FaultyChannel counter = new FaultyChannel(open(clean), Long.MAX_VALUE, false);
    List<byte[]> states = new ArrayList<>();
    try (VhdxDisk disk =
        new VhdxDisk(VhdxFile.open(clean, counter, true), false, d -> d.file().close())) {
      run(disk, states);
    }
    long total = counter.writes();
    assertTrue(total > 40, "the workload should write more than " + total + " times");
    assertTrue(states.get(1).length > states.get(0).length, "growing adds probes");
    List<byte[]> all = new ArrayList<>();
    all.add(empty);
    all.addAll(states);

    for (boolean tear : new boolean[] {false, true}) {
      for (long k = 1; k <= total; k++) {
        Path file = dir.resolve("crash" + ext);
        Files.copy(template, file, StandardCopyOption.REPLACE_EXISTING);
        FaultyChannel ch = new FaultyChannel(open(file), k, tear);
        int completed = 0;
        VhdxFile f = VhdxFile.open(file, ch, true);
        try {
          VhdxDisk disk = new VhdxDisk(f, false, x -> { });
          completed = runCounting(disk);
        } finally {
          ch.close();
        }
        String when = "after a " + (tear ? "torn" : "lost") + " write " + k + " of " + total
            + " (" + completed + " flushes completed)";
        for (boolean readOnly : new boolean[] {true, false}) {
          try (VhdxDisk reopened = VhdxDisk.open(file, readOnly)) {
            byte[] content = state(reopened);
            byte[] old = all.get(completed);
            byte[] next = all.get(Math.min(completed + 1, all.size() - 1));
            if (!Arrays.equals(content, old) && !Arrays.equals(content, next)) {
              fail("the file must read as flushed state " + completed + " or " + (completed + 1)
                  + " " + when + (readOnly ? " (read-only open)" : " (writable open)"));
            }
          } catch (IOException e) {
            throw new AssertionError("the file must open " + when + ": " + e, e);
          }
        }
      }
    }
  }

  /** Runs the workload and returns how many flushes completed before the crash. */
  private static int runCounting(VhdxDisk disk) {
    List<byte[]> states = new ArrayList<>();
    try {
      run(disk, states);
      disk.file().close();
    } catch (IOException crash) {
      // expected at the chosen write
    }
    return states.size();
  }

  private static FileChannel open(Path file) throws IOException {
    return FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
  }
}
