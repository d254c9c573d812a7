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
