package io.replica.host.nbd;

import static io.replica.host.nbd.Tools.ok;
import static io.replica.host.nbd.Tools.pattern;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.replica.spi.storage.DiskSpec;
import io.replica.spi.storage.VirtualDisk;
import io.replica.storage.vhdx.VhdxDisk;
import io.replica.transport.netty.Certificates;
import io.replica.transport.netty.TlsCredentials;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real NBD clients against the server: qemu-io, qemu-img, nbdinfo and nbdcopy. */
class NbdInteropTest {
  private static final long MIB = 1024 * 1024;
  private static final long SIZE = 6 * MIB;

  @TempDir Path dir;
  VhdxDisk disk;
  Path socket;
  NbdServer server;

  @BeforeEach
  void start() throws IOException {
    assumeTrue(Tools.available("qemu-io") && Tools.available("qemu-img"),
        "qemu-io / qemu-img are not installed (CI installs qemu-utils)");
    disk = VhdxDisk.create(dir.resolve("d.vhdx"), new DiskSpec(SIZE, 512, 4096, false), MIB);
    socket = dir.resolve("nbd.sock");
  }

  @AfterEach
  void stop() throws IOException {
    if (server != null) {
      server.close();
    }
    if (disk != null) {
      disk.close();
    }
  }

  private String unixUri(String export) {
    return "nbd+unix:///" + export + "?socket=" + socket;
  }

  private static byte[] content(VirtualDisk d) throws IOException {
    ByteBuffer b = ByteBuffer.allocate((int) d.sizeBytes());
    d.read(0, b);
    return b.array();
  }

  private static void assertQemuIoOk(String output) {
    assertFalse(output.contains("failed") || output.contains("error"), output);
  }

  @Test
  void qemuIoWritesPatternsThroughTheUnixSocketIntoAVhdx() throws Exception {
    server = NbdServer.builder().unixSocket(socket).export("d", disk, false).start();
    String out = ok("qemu-io", "-f", "raw", unixUri("d"),
        "-c", "write -P 0xab 0 64k",
        "-c", "write -P 0xcd 1M 4k",
        "-c", "write -z 1M 512",
        "-c", "write -P 0x11 5632k 512k",
        "-c", "flush",
        "-c", "read -P 0xab 0 64k",
        "-c", "read -P 0 1M 512",
        "-c", "read -P 0xcd 1049088 3584",
        "-c", "read -P 0x11 5632k 512k",
        "-c", "read -P 0 64k 960k");
    assertQemuIoOk(out);
    byte[] expected = new byte[(int) SIZE];
    Arrays.fill(expected, 0, 64 * 1024, (byte) 0xab);
    Arrays.fill(expected, (int) MIB + 512, (int) MIB + 4096, (byte) 0xcd);
    Arrays.fill(expected, (int) (5632 * 1024), (int) SIZE, (byte) 0x11);
    assertArrayEquals(expected, content(disk));

    // The server refuses unaligned requests; qemu honours the advertised 512-byte minimum
    // block size and does the read-modify-write itself.
    assertQemuIoOk(ok("qemu-io", "-f", "raw", unixUri("d"), "-c", "write -P 0x77 100 200",
        "-c", "read -P 0x77 100 200", "-c", "read -P 0xab 0 100", "-c", "read -P 0xab 300 212"));
    Arrays.fill(expected, 100, 300, (byte) 0x77);
    assertArrayEquals(expected, content(disk));

    // Then qemu-img compares the export with the bytes written.
    Path raw = dir.resolve("expected.raw");
    Files.write(raw, expected);
    ok("qemu-img", "compare", "-f", "raw", "-F", "raw", unixUri("d"), raw.toString());
    // The VHDX file written through the server is valid for qemu once closed.
    server.close();
    server = null;
    disk.close();
    disk = null;
    ok("qemu-img", "check", dir.resolve("d.vhdx").toString());
  }

  @Test
  void qemuImgConvertsIntoAndComparesOverTcp() throws Exception {
    server = NbdServer.builder().tcp(0).export("d", disk, false).start();
    int port = server.tcpAddress().orElseThrow().getPort();
    String uri = "nbd://127.0.0.1:" + port + "/d";
    byte[] source = new byte[(int) SIZE];
    System.arraycopy(pattern(1, (int) MIB), 0, source, (int) MIB, (int) MIB);
    System.arraycopy(pattern(2, 8192), 0, source, (int) (SIZE - 8192), 8192);
    Path raw = dir.resolve("src.raw");
    Files.write(raw, source);
    ok("qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", raw.toString(), uri);
    assertArrayEquals(source, content(disk));
    ok("qemu-img", "compare", "-f", "raw", "-F", "raw", uri, raw.toString());
    source[(int) MIB + 10] ^= 1;
    Files.write(raw, source);
    Tools.Result differs = Tools.run("qemu-img", "compare", "-f", "raw", "-F", "raw", uri,
        raw.toString());
    assertEquals(1, differs.exit(), differs.output());
    assertTrue(differs.output().contains("Content mismatch at offset " + MIB),
        differs.output());
  }

  @Test
  void nbdinfoShowsSizeAndTheAllocationOfASparseVhdx() throws Exception {
    assumeTrue(Tools.available("nbdinfo"), "nbdinfo is not installed (CI installs libnbd-bin)");
    disk.write(2 * MIB, ByteBuffer.wrap(pattern(3, 64 * 1024)));
    disk.flush();
    server = NbdServer.builder().unixSocket(socket).export("sparse", disk, true).start();
    String info = ok("nbdinfo", unixUri("sparse"));
    assertTrue(info.contains("export-size: " + SIZE), info);
    assertTrue(info.contains("is_read_only: true"), info);
    assertTrue(info.contains("block_size_minimum: 512"), info);
    String map = ok("nbdinfo", "--map", unixUri("sparse"));
    // With 1 MiB VHDX blocks, the block holding the data is allocated and the rest is a hole.
    List<String> lines = map.lines().map(String::trim).filter(l -> !l.isEmpty()).toList();
    assertEquals(3, lines.size(), map);
    assertTrue(lines.get(0).matches("0\\s+" + 2 * MIB + "\\s+3\\s+hole,zero"), map);
    assertTrue(lines.get(1).matches(2 * MIB + "\\s+" + MIB + "\\s+0\\s+data"), map);
    assertTrue(lines.get(2).matches(3 * MIB + "\\s+" + 3 * MIB + "\\s+3\\s+hole,zero"), map);
  }

  @Test
  void nbdcopyCopiesAFileInAndBackOutByteEqual() throws Exception {
    assumeTrue(Tools.available("nbdcopy"), "nbdcopy is not installed (CI installs libnbd-bin)");
    server = NbdServer.builder().unixSocket(socket).export("d", disk, false).start();
    byte[] source = new byte[(int) SIZE];
    System.arraycopy(pattern(4, (int) (3 * MIB)), 0, source, 4096, (int) (3 * MIB));
    Path in = dir.resolve("in.raw");
    Files.write(in, source);
    ok("nbdcopy", "--flush", in.toString(), unixUri("d"));
    assertArrayEquals(source, content(disk));
    Path out = dir.resolve("out.raw");
    ok("nbdcopy", unixUri("d"), out.toString());
    assertArrayEquals(source, Files.readAllBytes(out));
  }

  @Test
  void qemuIoUsesMutualTlsAndAClientWithoutTlsOrTrustIsRefused() throws Exception {
    TlsCredentials ca = Certificates.newCa("NBD Test CA", Duration.ofDays(1));
    TlsCredentials serverCert = Certificates.issue(ca, List.of("localhost"), Duration.ofDays(1));
    server = NbdServer.builder().tcp(0).tls(io.replica.transport.netty.TlsSettings.of(serverCert, List.of(ca.certificate())))
        .export("d", disk, false).start();
    int port = server.tcpAddress().orElseThrow().getPort();

    Path good = clientCredentials("good", ca, ca);
    String out = ok("qemu-io", "--object",
        "tls-creds-x509,id=tls0,dir=" + good + ",endpoint=client",
        "--image-opts", "driver=nbd,host=localhost,port=" + port + ",export=d,tls-creds=tls0",
        "-c", "write -P 0x5c 0 4k", "-c", "flush", "-c", "read -P 0x5c 0 4k");
    assertQemuIoOk(out);
    byte[] first = new byte[4096];
    disk.read(0, ByteBuffer.wrap(first));
    byte[] expected = new byte[4096];
    Arrays.fill(expected, (byte) 0x5c);
    assertArrayEquals(expected, first);

    Tools.Result plain = Tools.run("qemu-io", "-f", "raw", "nbd://localhost:" + port + "/d",
        "-c", "read 0 4k");
    assertNotEquals(0, plain.exit(), plain.output());
    assertTrue(plain.output().contains("TLS"), plain.output());

    TlsCredentials otherCa = Certificates.newCa("Other CA", Duration.ofDays(1));
    Path untrusted = clientCredentials("untrusted", ca, otherCa);
    Tools.Result stranger = Tools.run("qemu-io", "--object",
        "tls-creds-x509,id=tls0,dir=" + untrusted + ",endpoint=client",
        "--image-opts", "driver=nbd,host=localhost,port=" + port + ",export=d,tls-creds=tls0",
        "-c", "write -P 0x66 0 4k");
    assertNotEquals(0, stranger.exit(), stranger.output());
    disk.read(0, ByteBuffer.wrap(first));
    assertArrayEquals(expected, first, "the untrusted client wrote nothing");
  }

  /** A qemu tls-creds-x509 directory: the CA to trust and a client certificate from issuer. */
  private Path clientCredentials(String name, TlsCredentials trustedCa, TlsCredentials issuer)
      throws IOException {
    Path d = Files.createDirectories(dir.resolve(name));
    TlsCredentials.writeCertificatesPem(d.resolve("ca-cert.pem"),
        List.of(trustedCa.certificate()));
    TlsCredentials client = Certificates.issue(issuer, List.of("client.example"),
        Duration.ofDays(1));
    // The key file as `replica cert` writes it: GnuTLS must load it as it is.
    client.writePem(d.resolve("client-cert.pem"), d.resolve("client-key.pem"));
    return d;
  }
}
