package io.replica.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code replica} command. */
@Command(name = "replica", mixinStandardHelpOptions = true, version = "replica 0.1.0",
    description = "Asynchronous replication of virtual machine disks.",
    subcommands = {DemoCommand.class, SimulateCommand.class, DiskCommand.class,
        ServerCommand.class, TestConnectionCommand.class, CertCommand.class})
public final class Main implements Runnable {

  /** Runs the command line and exits with its status. */
  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Runs the command line and returns its exit status (0 success, 1 failure, 2 usage). */
  public static int run(String... args) {
    return new CommandLine(new Main()).execute(args);
  }

  /** Runs the command line with its output going to {@code out} and {@code err}. */
  public static int run(java.io.PrintWriter out, java.io.PrintWriter err, String... args) {
    return new CommandLine(new Main()).setOut(out).setErr(err).execute(args);
  }

  @Override
  public void run() {
    new CommandLine(this).usage(System.out);
  }
}
