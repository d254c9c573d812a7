package io.replica.storage.vhdx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/** External tools (qemu-img, qemu-io, libvhdi) and byte helpers for the interop tests. */
final class Tools {

  record Result(int exit, String output) {}

  private Tools() {}

  static boolean available(String tool) {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
      if (Files.isExecutable(Path.of(dir, tool))) {
        return true;
      }
    }
    return Files.isExecutable(Path.of(tool));
  }

  static Result run(String... command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    byte[] out = p.getInputStream().readAllBytes();
    // A guard against a hung tool, not a timing assertion.
    if (!p.waitFor(5, TimeUnit.MINUTES)) {
      p.destroyForcibly();
      fail("timed out: " + List.of(command));
    }
    return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
  }

  static String ok(String... command) throws IOException, InterruptedException {
    Result r = run(command);
    assertEquals(0, r.exit(), () -> List.of(command) + " failed: " + r.output());
    return r.output();
  }

  static byte[] pattern(long seed, int length) {
    SplittableRandom random = new SplittableRandom(seed);
    byte[] b = new byte[length];
    for (int i = 0; i < length; i++) {
      b[i] = (byte) random.nextInt(1, 256);
    }
    return b;
  }

  /** Reads the whole disk and compares it with a raw image, in pieces. */
  static void assertSameAsRaw(VhdxDisk disk, Path raw) throws IOException {
    assertEquals(Files.size(raw), disk.sizeBytes(), "virtual size of " + disk.chain().get(0));
    try (var ch = java.nio.channels.FileChannel.open(raw)) {
      int piece = 4 * 1024 * 1024;
      for (long at = 0; at < disk.sizeBytes(); at += piece) {
        int n = (int) Math.min(piece, disk.sizeBytes() - at);
        ByteBuffer mine = ByteBuffer.allocate(n);
        disk.read(at, mine);
        ByteBuffer theirs = ByteBuffer.allocate(n);
        while (theirs.hasRemaining() && ch.read(theirs, at + theirs.position()) >= 0) {
          // fill
        }
        int diff = Arrays.mismatch(mine.array(), theirs.array());
        if (diff >= 0) {
          fail("'" + disk.chain().get(0) + "' differs from '" + raw + "' at byte "
              + (at + diff) + ": read " + mine.array()[diff] + ", expected "
              + theirs.array()[diff]);
        }
      }
    }
  }
}
