package io.replica.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Command;

class MainTest {

  @Command(name = "boom")
  static final class Boom implements Callable<Integer> {
    @Override
    public Integer call() {
      throw new IllegalStateException("the widget on 'x'\nbroke");
    }
  }

  @Test
  void aFailureNoCommandForesawIsOneLineWithStatusOne() {
    CommandLine commandLine = Main.commandLine();
    commandLine.addSubcommand("boom", new Boom());
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = commandLine.setOut(new PrintWriter(out, true)).setErr(new PrintWriter(err, true))
        .execute("boom");
    assertEquals(1, code);
    if (System.getenv(Main.DEBUG_VARIABLE) == null) {
      assertEquals("replica boom: the widget on 'x' broke (unexpected IllegalStateException; set"
          + " REPLICA_DEBUG=1 for where it happened)", err.toString().strip());
    } else {
      assertTrue(err.toString().startsWith("replica boom: the widget"), err.toString());
    }
  }
}
