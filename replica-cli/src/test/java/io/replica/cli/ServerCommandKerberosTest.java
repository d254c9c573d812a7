package io.replica.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replica.api.AuthenticationType;
import io.replica.api.DiskId;
import io.replica.api.ReplicationManager;
import io.replica.api.ReplicationSettings;
import io.replica.api.VirtualMachine;
import io.replica.api.VmDisk;
import io.replica.api.VmId;
import io.replica.core.ReplicaEngine;
import io.replica.spi.storage.DiskSpec;
import io.replica.spi.time.Clock;
import io.replica.spi.time.Scheduler;
import io.replica.testkit.memory.InMemoryVirtualDisk;
import io.replica.transport.netty.Certificates;
import io.replica.transport.netty.KerberosSettings;
import io.replica.transport.netty.NettyTransport;
import io.replica.transport.netty.TlsCredentials;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.Writer;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.kerby.kerberos.kerb.server.SimpleKdcServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code replica server --kerberos-port} against an embedded KDC (Apache Kerby): primaries with
 * host principals replicate over Kerberos, and the server prints one line for every connection it
 * accepts or refuses, with the reason; a refused primary leaves nothing in the storage.
 */
class ServerCommandKerberosTest {
  private static final String REALM = "TEST.REALM";
  private static final String SERVER = "replica.krb.test";

  @TempDir static Path kdcDir;
  private static SimpleKdcServer kdc;

  @TempDir Path dir;
  private final List<AutoCloseable> open = new ArrayList<>();
  private Thread server;

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  private static String principal(String host) {
    return "host/" + host + "@" + REALM;
  }

  @BeforeAll
  static void startKdc() throws Exception {
    kdc = new SimpleKdcServer();
    kdc.setWorkDir(kdcDir.toFile());
    kdc.setKdcHost("localhost");
    kdc.setKdcRealm(REALM);
    kdc.setKdcTcpPort(freePort());
    kdc.setAllowUdp(false);
    kdc.init();
    kdc.start();
    // Kerby writes a krb5.conf for its KDC; TCP only, as the KDC does not listen on UDP.
    Path conf = kdcDir.resolve("krb5.conf");
    Files.writeString(conf, Files.readString(conf)
        .replace("[libdefaults]", "[libdefaults]\n    udp_preference_limit = 1"));
    System.setProperty("java.security.krb5.conf", conf.toString());
    for (String host : List.of(SERVER, "primary.krb.test", "other.krb.test",
        "intruder.krb.test")) {
      kdc.createPrincipal(principal(host));
      kdc.exportPrincipal(principal(host), kdcDir.resolve(host + ".keytab").toFile());
    }
  }

  @AfterAll
  static void stopKdc() throws Exception {
    kdc.stop();
  }

  @AfterEach
  void stop() throws Exception {
    for (int i = open.size() - 1; i >= 0; i--) {
      open.get(i).close();
    }
    if (server != null) {
      server.interrupt();
      server.join(30_000);
    }
  }

  /** What the server prints, line by line, for the test to wait on. */
  static final class Lines extends Writer {
    private final LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
    private final StringBuilder partial = new StringBuilder();

    @Override
    public synchronized void write(char[] buf, int off, int len) {
      for (int i = off; i < off + len; i++) {
        if (buf[i] == '\n') {
          lines.add(partial.toString().strip());
          partial.setLength(0);
        } else {
          partial.append(buf[i]);
        }
      }
    }

    @Override
    public void flush() {}

    @Override
    public void close() {}

    String next(String what) throws InterruptedException {
      String line = lines.poll(60, TimeUnit.SECONDS);
      if (line == null) {
        throw new AssertionError("the server printed no " + what + " within 60 s");
      }
      return line;
    }
  }

  /** A primary on this host's Kerberos identity {@code keysOf}, claiming to be {@code host}. */
  private ReplicationManager primary(String host, String keysOf) {
    // Closed in reverse: the engine, then the transport, whose last callbacks need the executor.
    ScheduledExecutorService executor = Executors.newScheduledThreadPool(1);
    open.add(executor::shutdownNow);
    NettyTransport transport = NettyTransport.builder().hostName(host).workerThreads(1)
        .kerberos(KerberosSettings.fromKeytab(kdcDir.resolve(keysOf + ".keytab"),
            principal(keysOf)))
        .resolver(name -> InetAddress.getLoopbackAddress())
        .build();
    open.add(transport);
    ReplicationManager engine = ReplicaEngine.builder().hostName(host).clock(Clock.system())
        .scheduler(Scheduler.of(executor)).transport(transport).build();
    open.add(engine);
    return engine;
  }

  private static VirtualMachine machine(int n) {
    return new VirtualMachine(VmId.of(new UUID(7, n)), "vm" + n, List.of(new VmDisk(
        DiskId.of(new UUID(7, 100 + n)), InMemoryVirtualDisk.create(DiskSpec.dynamic(4 << 20)),
        true)));
  }

  private static void enable(ReplicationManager primary, VirtualMachine vm, int port)
      throws Exception {
    primary.enableReplication(vm, ReplicationSettings.builder(SERVER).replicaServerPort(port)
        .authenticationType(AuthenticationType.KERBEROS).build()).get(60, TimeUnit.SECONDS);
  }

  private long filesIn(Path storage) throws IOException {
    if (!Files.exists(storage)) {
      return 0;
    }
    try (Stream<Path> all = Files.walk(storage)) {
      return all.filter(Files::isRegularFile).count();
    }
  }

  @Test
  void kerberosPrimariesAreAcceptedOrRefusedWithOneLineEach() throws Exception {
    TlsCredentials ca = Certificates.newCa("Kerberos Test CA", Duration.ofDays(2));
    TlsCredentials.writeCertificatesPem(dir.resolve("ca.pem"), List.of(ca.certificate()));
    Certificates.issue(ca, List.of(SERVER, "localhost"), Duration.ofDays(1))
        .writePem(dir.resolve("server.pem"), dir.resolve("server.key"));
    int tlsPort = freePort();
    int kerberosPort = freePort();
    Path storage = dir.resolve("storage");
    Lines out = new Lines();
    StringWriter err = new StringWriter();
    server = new Thread(() -> Main.run(new PrintWriter(out, true), new PrintWriter(err, true),
        "server", "--listen", "127.0.0.1:" + tlsPort, "--storage", storage.toString(),
        "--cert", dir.resolve("server.pem").toString(),
        "--key", dir.resolve("server.key").toString(), "--trust", dir.resolve("ca.pem").toString(),
        "--allow", "primary.krb.test=vms", "--kerberos-port", Integer.toString(kerberosPort),
        "--keytab", kdcDir.resolve(SERVER + ".keytab").toString(),
        "--principal", principal(SERVER)), "kerberos-server-under-test");
    server.start();
    String started = out.next("start line");
    assertTrue(started.contains("listening on 127.0.0.1:" + tlsPort + " (certificate) and"
        + " 127.0.0.1:" + kerberosPort + " (Kerberos)"), started + "\n" + err);
    long filesAtStart = filesIn(storage);

    // A host the authorization list does not name.
    ExecutionException notListed = assertThrows(ExecutionException.class, () ->
        enable(primary("other.krb.test", "other.krb.test"), machine(1), kerberosPort));
    assertTrue(notListed.getCause().getMessage().contains("not in the authorization list"),
        notListed.getCause().getMessage());
    String line = out.next("line for other.krb.test");
    assertTrue(line.startsWith("rejected connection from 127.0.0.1:"), line);
    assertTrue(line.endsWith(": replica server replica.krb.test rejected primary"
        + " 'other.krb.test': not in the authorization list (add an entry with a matching"
        + " pattern)"), line);

    // A host that claims to be primary.krb.test but holds another principal's keytab.
    ExecutionException wrongKeys = assertThrows(ExecutionException.class, () ->
        enable(primary("primary.krb.test", "intruder.krb.test"), machine(2), kerberosPort));
    assertTrue(wrongKeys.getCause().getMessage().contains("names host 'intruder.krb.test'"),
        wrongKeys.getCause().getMessage());
    line = out.next("line for the wrong keytab");
    assertTrue(line.startsWith("rejected connection from 127.0.0.1:"), line);
    assertTrue(line.endsWith(": Kerberos principal '" + principal("intruder.krb.test")
        + "' names host 'intruder.krb.test', not the host 'primary.krb.test' the primary"
        + " claims to be"), line);
    assertEquals(filesAtStart, filesIn(storage), "a refused primary wrote nothing");

    enable(primary("primary.krb.test", "primary.krb.test"), machine(3), kerberosPort);
    line = out.next("line for primary.krb.test");
    assertTrue(line.matches("accepted connection from 127\\.0\\.0\\.1:\\d+ as 'primary\\.krb"
        + "\\.test' \\(protocol \\d+, Kerberos auth(-int|-conf)?, compression (off|zstd)\\)"),
        line);
    assertTrue(filesIn(storage.resolve("vms")) > 0, "the admitted primary's replica is stored");
  }
}
