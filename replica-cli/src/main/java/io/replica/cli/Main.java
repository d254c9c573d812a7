package io.replica.cli;

import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code replica} command. */
@Command(name = "replica", mixinStandardHelpOptions = true, version = "replica 0.1.0",
    description = "Asynchronous replication of virtual machine disks.",
    subcommands = {DemoCommand.class, SimulateCommand.class, DiskCommand.class,
        ServerCommand.class, HostCommand.class, VmCommand.class, TestConnectionCommand.class,
        CertCommand.class})
public final class Main implements Runnable {

  /** Set in the environment to see the stack trace of a failure no command foresaw. */
  static final String DEBUG_VARIABLE = "REPLICA_DEBUG";

  /** Runs the command line and exits with its status. */
  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Runs the command line and returns its exit status (0 success, 1 failure, 2 usage). */
  public static int run(String... args) {
    return commandLine().execute(args);
  }

  /** Runs the command line with its output going to {@code out} and {@code err}. */
  public static int run(PrintWriter out, PrintWriter err, String... args) {
    return commandLine().setOut(out).setErr(err).execute(args);
  }

  /**
   * The command line. A failure that no command turned into its own message is still one line
   * on standard error with exit status 1: an operator gets what failed, not 30 lines of frames.
   */
  static CommandLine commandLine() {
    CommandLine commandLine = new CommandLine(new Main());
    commandLine.setExecutionExceptionHandler((e, command, parsed) -> {
      PrintWriter err = command.getErr();
      String message = e.getMessage() == null || e.getMessage().isBlank()
          ? e.getClass().getSimpleName()
          : e.getMessage().replaceAll("\\s*[\\r\\n]+\\s*", " ");
      err.println(command.getCommandSpec().qualifiedName() + ": " + message
          + " (unexpected " + e.getClass().getSimpleName() + "; set " + DEBUG_VARIABLE
          + "=1 for where it happened)");
      if (System.getenv(DEBUG_VARIABLE) != null) {
        e.printStackTrace(err);
      }
      err.flush();
      return 1;
    });
    return commandLine;
  }

  @Override
  public void run() {
    new CommandLine(this).usage(System.out);
  }
}
