package io.replica.host.nbd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/** External NBD clients (qemu-io, qemu-img, nbdinfo, nbdcopy) and byte helpers. */
public final class Tools {

  public record Result(int exit, String output) {}

  private Tools() {}

  public static boolean available(String tool) {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
      if (Files.isExecutable(Path.of(dir, tool))) {
        return true;
      }
    }
    return Files.isExecutable(Path.of(tool));
  }

  public static Result run(String... command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    byte[] out = p.getInputStream().readAllBytes();
    // A guard against a hung tool, not a timing assertion.
    if (!p.waitFor(5, TimeUnit.MINUTES)) {
      p.destroyForcibly();
      fail("timed out: " + List.of(command));
    }
    return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
  }

  public static String ok(String... command) throws IOException, InterruptedException {
    Result r = run(command);
    assertEquals(0, r.exit(), () -> List.of(command) + " failed: " + r.output());
    return r.output();
  }

  public static byte[] pattern(long seed, int length) {
    SplittableRandom random = new SplittableRandom(seed);
    byte[] b = new byte[length];
    for (int i = 0; i < length; i++) {
      b[i] = (byte) random.nextInt(1, 256);
    }
    return b;
  }
}
