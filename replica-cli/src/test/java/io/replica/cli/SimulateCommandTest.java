package io.replica.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

class SimulateCommandTest {

  @Test
  void printsASummaryEndingWithTheViolationCount() {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Main.run(new PrintWriter(out, true), new PrintWriter(err, true),
        "simulate", "--seeds", "3", "--from", "7", "--scenario", "crashes");
    String[] lines = out.toString().strip().split("\n");
    assertEquals(0, code, out + "" + err);
    assertEquals("violations: 0", lines[lines.length - 1]);
    assertTrue(out.toString().contains("seeds run: 3 (3 runs over crashes)"), out.toString());
    assertTrue(out.toString().contains("faults injected:"), out.toString());
    assertTrue(out.toString().contains("cycles applied while faults were active, per run: median "), out.toString());
    assertTrue(out.toString().contains("recovery points taken: "), out.toString());
    assertTrue(out.toString().contains("failovers done: "), out.toString());
  }

  @Test
  void theSummaryDoesNotDependOnTheThreads() {
    String one = summary("--threads", "1");
    String two = summary("--threads", "2");
    assertEquals(one, two);
  }

  @Test
  void aTracePrintsEveryLineOfTheRun() {
    String traced = summary("--trace");
    assertTrue(traced.contains(" #0 replica started (epoch 0)"), traced);
    assertTrue(traced.lines().filter(l -> l.contains(" cut: generation ")).count() > 5, traced);
  }

  private static String summary(String... more) {
    StringWriter out = new StringWriter();
    String[] args = java.util.stream.Stream.concat(
        java.util.stream.Stream.of("simulate", "--seeds", "2", "--from", "31", "--scenario", "steady"),
        java.util.Arrays.stream(more)).toArray(String[]::new);
    int code = Main.run(new PrintWriter(out, true), new PrintWriter(new StringWriter(), true), args);
    assertEquals(0, code, out.toString());
    return out.toString();
  }

  @Test
  void anUnknownScenarioIsAUsageError() {
    StringWriter err = new StringWriter();
    int code = Main.run(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true),
        "simulate", "--scenario", "meteor");
    assertEquals(2, code);
    assertTrue(err.toString().contains("unknown scenario 'meteor'"), err.toString());
  }
}
