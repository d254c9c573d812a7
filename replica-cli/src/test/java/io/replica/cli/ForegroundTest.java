package io.replica.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code replica host} and {@code replica server} run in the foreground the same way: stopped by a
 * test, or in a JVM of their own by SIGTERM as systemd stops them, which ends with exit 143 after
 * the service closed.
 */
class ForegroundTest {
  @TempDir Path dir;
  private final List<Process> launched = new ArrayList<>();

  @AfterEach
  void killLeftovers() {
    launched.forEach(Process::destroyForcibly);
  }

  private String p(String name) {
    return dir.resolve(name).toString();
  }

  @Test
  void aStoppedServiceClosesAndExitsZero() throws Exception {
    Foreground f = new Foreground("test-stop");
    AtomicBoolean closed = new AtomicBoolean();
    AtomicInteger code = new AtomicInteger(-1);
    java.util.concurrent.CountDownLatch started = new java.util.concurrent.CountDownLatch(1);
    Thread t = new Thread(() -> {
      try {
        code.set(f.run(() -> {
          started.countDown();
          return 0;
        }, () -> closed.set(true)));
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    t.start();
    started.await();
    assertFalse(closed.get(), "runs until stopped");
    f.stop.countDown();
    t.join();
    assertEquals(0, code.get());
    assertTrue(closed.get());
  }

  @Test
  void aServiceThatCannotStartClosesAndReturnsItsStatus() throws Exception {
    AtomicBoolean closed = new AtomicBoolean();
    assertEquals(1, new Foreground("test-stop").run(() -> 1, () -> closed.set(true)));
    assertTrue(closed.get());
  }

  @Test
  void sigtermStopsReplicaHostCleanlyWithExit143() throws Exception {
    assertEquals(0, CertCommandTest.run("cert", "new-ca", "--cert", p("ca.pem"), "--key", p("ca.key")).code());
    assertEquals(0, CertCommandTest.run("cert", "issue", "--host", "hv1.test", "--ca-cert", p("ca.pem"),
        "--ca-key", p("ca.key"), "--cert", p("hv1.pem"), "--key", p("hv1.key")).code());
    Files.writeString(dir.resolve("host.json"), """
        {"hostName": "hv1.test", "stateFolder": "state",
         "tls": {"certificate": "hv1.pem", "key": "hv1.key", "trust": "ca.pem"},
         "nbd": {"unixSocket": "nbd.sock"}}
        """);
    Launched host = launch("host", "--config", p("host.json"));
    host.awaitLine("replica host 'hv1.test' runs 0 machines");
    assertTrue(Files.exists(dir.resolve("nbd.sock")));
    host.process.destroy(); // SIGTERM
    assertEquals(143, host.exit(), host.output());
    assertFalse(Files.exists(dir.resolve("nbd.sock")), "closed before the JVM exited: " + host.output());
  }

  @Test
  void sigtermStopsReplicaServerWithExit143() throws Exception {
    assertEquals(0, CertCommandTest.run("cert", "new-ca", "--cert", p("ca.pem"), "--key", p("ca.key")).code());
    assertEquals(0, CertCommandTest.run("cert", "issue", "--host", "localhost", "--ca-cert", p("ca.pem"),
        "--ca-key", p("ca.key"), "--cert", p("localhost.pem"), "--key", p("localhost.key")).code());
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Launched server = launch("server", "--listen", "127.0.0.1:" + port, "--storage", p("storage"),
        "--cert", p("localhost.pem"), "--key", p("localhost.key"), "--trust", p("ca.pem"));
    server.awaitLine("listening on 127.0.0.1:" + port);
    server.process.destroy(); // SIGTERM
    assertEquals(143, server.exit(), server.output());
  }

  /** A {@code replica} command in a JVM of its own, its output read as it comes. */
  private record Launched(Process process, BlockingQueue<String> lines, StringBuffer all) {
    void awaitLine(String text) throws InterruptedException {
      while (true) {
        String line = lines.poll(2, TimeUnit.MINUTES);
        if (line == null || line.equals(END)) {
          throw new AssertionError("no line with '" + text + "'; output:\n" + all);
        }
        if (line.contains(text)) {
          return;
        }
      }
    }

    int exit() throws InterruptedException {
      assertTrue(process.waitFor(2, TimeUnit.MINUTES), "still running after SIGTERM: " + all);
      return process.exitValue();
    }

    String output() {
      return all.toString();
    }
  }

  private static final String END = "\u0000end";

  private Launched launch(String... args) throws IOException {
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), Main.class.getName()));
    cmd.addAll(List.of(args));
    Process process = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
    launched.add(process);
    BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    StringBuffer all = new StringBuffer();
    Thread reader = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(),
          StandardCharsets.UTF_8))) {
        for (String line; (line = r.readLine()) != null; ) {
          all.append(line).append('\n');
          lines.add(line);
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      } finally {
        lines.add(END);
      }
    }, "replica-output");
    reader.setDaemon(true);
    reader.start();
    return new Launched(process, lines, all);
  }
}
