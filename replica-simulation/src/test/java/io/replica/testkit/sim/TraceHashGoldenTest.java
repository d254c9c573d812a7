package io.replica.testkit.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Refactoring the engine must not change what it does: the trace of a fixed list of seeds, in
 * every scenario, hashes to what {@code trace-hashes.txt} recorded. A change of behaviour that is
 * meant updates that file in the same commit, and the commit says why the traces changed.
 */
class TraceHashGoldenTest {

  private static final int SEEDS = 40;
  private static final String RESOURCE = "trace-hashes.txt";

  @Test
  void theTracesOfTheFixedSeedsAreUnchanged() throws IOException {
    List<String> actual = new ArrayList<>();
    for (Scenario scenario : Scenario.values()) {
      for (long seed = 0; seed < SEEDS; seed++) {
        SimulationResult r = Simulation.builder(seed).scenario(scenario).build().run();
        actual.add(scenario + " " + seed + " " + Long.toHexString(r.traceHash()));
      }
    }
    Path written = Path.of("target", "trace-hashes.actual.txt");
    Files.createDirectories(written.getParent());
    Files.write(written, actual, StandardCharsets.UTF_8);
    List<String> expected = expected();
    List<String> changed = new ArrayList<>();
    for (int i = 0; i < Math.max(expected.size(), actual.size()); i++) {
      String e = i < expected.size() ? expected.get(i) : "(none)";
      String a = i < actual.size() ? actual.get(i) : "(none)";
      if (!e.equals(a)) {
        changed.add("expected " + e + ", got " + a);
      }
    }
    assertEquals(List.of(), changed.subList(0, Math.min(10, changed.size())),
        changed.size() + " traces changed. If the engine's behaviour was meant to change, copy "
            + written.toAbsolutePath() + " over src/test/resources/io/replica/testkit/sim/" + RESOURCE
            + " and say in the commit why the traces changed.");
  }

  private static List<String> expected() throws IOException {
    try (InputStream in = TraceHashGoldenTest.class.getResourceAsStream(RESOURCE)) {
      assertNotNull(in, RESOURCE + " is missing from the test resources");
      List<String> lines = new ArrayList<>();
      for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
        if (!line.isBlank() && !line.startsWith("#")) {
          lines.add(line.strip());
        }
      }
      return lines;
    }
  }
}
