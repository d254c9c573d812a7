package io.replica.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

class DemoCommandTest {

  private static String[] run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
    return new String[] {Integer.toString(code), out.toString(), err.toString()};
  }

  @Test
  void theDemoReplicatesAndVerifiesTheReplica() {
    // The library logs to System.err: the demo must not warn about its own short-lived certificates.
    java.io.PrintStream stderr = System.err;
    java.io.ByteArrayOutputStream logged = new java.io.ByteArrayOutputStream();
    String[] r;
    System.setErr(new java.io.PrintStream(logged, true, java.nio.charset.StandardCharsets.UTF_8));
    try {
      r = run("demo", "--cycles", "3", "--disk-size", "4M", "--frequency", "1s");
    } finally {
      System.setErr(stderr);
    }
    assertEquals("0", r[0], r[1] + r[2]);
    String log = logged.toString(java.nio.charset.StandardCharsets.UTF_8);
    assertTrue(!log.contains("expire"), log);
    String[] lines = r[1].strip().split("\n");
    assertTrue(lines[lines.length - 1].startsWith("verified: replica equals primary at cycle"), r[1]);
    assertTrue(r[1].contains("verify: 2 disks, 8.0 MiB compared, 0 ranges differ\n"), r[1]);
    assertTrue(r[1].indexOf("verify: ") < r[1].indexOf("verified: "), r[1]);
    assertTrue(r[1].contains("cycle   0") && r[1].contains("(initial replication)"), r[1]);
    assertTrue(r[1].contains("SuccessfulReplicationCount"), r[1]);
  }

  @Test
  void badOptionsAreUsageErrors() {
    assertEquals("2", run("demo", "--frequency", "soon")[0]);
    String[] tooFast = run("demo", "--frequency", "500ms");
    assertEquals("2", tooFast[0]);
    assertTrue(tooFast[2].contains("1 second or more"), tooFast[2]);
    assertEquals("2", run("demo", "--cycles", "0")[0]);
    String[] r = run("demo", "--disk-size", "12Q");
    assertEquals("2", r[0]);
    assertTrue(r[2].contains("'12Q' is not a size"), r[2]);
  }
}
