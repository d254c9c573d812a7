package io.replica.host.nbd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replica.spi.storage.DiskSpec;
import io.replica.testkit.memory.InMemoryVirtualDisk;
import io.replica.transport.netty.Certificates;
import io.replica.transport.netty.TlsCredentials;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** NBD_OPT_STARTTLS from a plain Java client: TLS is required, mutual, and resets state. */
class NbdTlsTest {
  private static final long SIZE = 1024 * 1024;

  TlsCredentials ca;
  InMemoryVirtualDisk disk;
  NbdServer server;
  InetSocketAddress address;

  @BeforeEach
  void start() throws IOException {
    ca = Certificates.newCa("NBD Test CA", Duration.ofDays(1));
    disk = InMemoryVirtualDisk.create(new DiskSpec(SIZE, 512, 4096, false));
    server = NbdServer.builder().tcp(0)
        .tls(io.replica.transport.netty.TlsSettings.of(Certificates.issue(ca, List.of("localhost"), Duration.ofDays(1)),
            List.of(ca.certificate())))
        .export("d", disk, false).start();
    address = server.tcpAddress().orElseThrow();
  }

  @AfterEach
  void stop() {
    server.close();
  }

  @Test
  void everyOptionButStartTlsIsRefusedBeforeTls() throws IOException {
    try (RawClient c = new RawClient(address).handshake()) {
      c.option(Nbd.OPT_LIST, new byte[0]);
      assertEquals(Nbd.REP_ERR_TLS_REQD, c.optionReply().type());
      c.option(Nbd.OPT_GO, RawClient.goData("d"));
      assertEquals(Nbd.REP_ERR_TLS_REQD, c.optionReply().type());
      c.option(Nbd.OPT_STRUCTURED_REPLY, new byte[0]);
      assertEquals(Nbd.REP_ERR_TLS_REQD, c.optionReply().type());
      c.option(4242, new byte[0]);
      assertEquals(Nbd.REP_ERR_TLS_REQD, c.optionReply().type());
      c.option(Nbd.OPT_STARTTLS, new byte[] {1});
      assertEquals(Nbd.REP_ERR_INVALID, c.optionReply().type());
      c.option(Nbd.OPT_EXPORT_NAME, "d".getBytes(StandardCharsets.UTF_8));
      assertTrue(c.closedByServer());
    }
  }

  @Test
  void afterStartTlsAClientWithATrustedCertificateReadsAndWrites() throws Exception {
    TlsCredentials mine = Certificates.issue(ca, List.of("client.example"), Duration.ofDays(1));
    try (RawClient c = new RawClient(address).handshake()) {
      c.option(Nbd.OPT_STRUCTURED_REPLY, new byte[0]);
      assertEquals(Nbd.REP_ERR_TLS_REQD, c.optionReply().type());
      c.option(Nbd.OPT_STARTTLS, new byte[0]);
      assertEquals(Nbd.REP_ACK, c.optionReply().type());
      try (SSLSocket tls = upgrade(c, mine, ca.certificate())) {
        DataOutputStream out = new DataOutputStream(tls.getOutputStream());
        DataInputStream in = new DataInputStream(tls.getInputStream());
        option(out, Nbd.OPT_STARTTLS, new byte[0]);
        assertEquals(Nbd.REP_ERR_INVALID, optionReplyType(in), "TLS is already on");
        // Structured replies were not negotiated over TLS: a read gets a simple reply.
        option(out, Nbd.OPT_GO, RawClient.goData("d"));
        int type;
        while ((type = optionReplyType(in)) == Nbd.REP_INFO) {
          // skip
        }
        assertEquals(Nbd.REP_ACK, type);
        byte[] data = new byte[4096];
        java.util.Arrays.fill(data, (byte) 0x42);
        request(out, Nbd.CMD_WRITE, 1, 8192, data);
        assertEquals(Nbd.SIMPLE_REPLY_MAGIC, in.readInt());
        assertEquals(0, in.readInt());
        assertEquals(1, in.readLong());
        request(out, Nbd.CMD_READ, 2, 8192, null);
        assertEquals(Nbd.SIMPLE_REPLY_MAGIC, in.readInt());
        assertEquals(0, in.readInt());
        assertEquals(2, in.readLong());
        byte[] back = new byte[4096];
        in.readFully(back);
        assertArrayEquals(data, back);
      }
    }
  }

  @Test
  void aClientCertificateFromAnotherCaFailsTheHandshake() throws Exception {
    TlsCredentials otherCa = Certificates.newCa("Other CA", Duration.ofDays(1));
    TlsCredentials stranger = Certificates.issue(otherCa, List.of("client.example"),
        Duration.ofDays(1));
    try (RawClient c = new RawClient(address).handshake()) {
      c.option(Nbd.OPT_STARTTLS, new byte[0]);
      assertEquals(Nbd.REP_ACK, c.optionReply().type());
      assertThrows(IOException.class, () -> {
        try (SSLSocket tls = upgrade(c, stranger, ca.certificate())) {
          DataOutputStream out = new DataOutputStream(tls.getOutputStream());
          option(out, Nbd.OPT_GO, RawClient.goData("d"));
          new DataInputStream(tls.getInputStream()).readLong();
        }
      });
    }
    assertArrayEquals(new byte[(int) SIZE], disk.contentSnapshot());
  }

  @Test
  void certificatesRenewedOnDiskServeTheNextHandshake(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
      throws Exception {
    java.nio.file.Path cert = dir.resolve("nbd.pem");
    java.nio.file.Path key = dir.resolve("nbd.key");
    java.nio.file.Path trust = dir.resolve("ca.pem");
    Certificates.issue(ca, List.of("localhost"), Duration.ofDays(1)).writePem(cert, key);
    TlsCredentials.writeCertificatesPem(trust, List.of(ca.certificate()));
    try (NbdServer files = NbdServer.builder().tcp(0)
        .tls(io.replica.transport.netty.TlsSettings.fromPemFiles(cert, key, trust))
        .export("d", disk, false).start()) {
      java.net.InetSocketAddress at = files.tcpAddress().orElseThrow();
      TlsCredentials first = Certificates.issue(ca, List.of("client.example"), Duration.ofDays(1));
      assertEquals(Nbd.REP_ACK, goOverTls(at, first, ca.certificate()));

      // The operator moves to a new CA: new server certificate, new trust, no restart.
      TlsCredentials newCa = Certificates.newCa("Renewed CA", Duration.ofDays(1));
      Certificates.issue(newCa, List.of("localhost"), Duration.ofDays(1)).writePem(cert, key);
      TlsCredentials.writeCertificatesPem(trust, List.of(newCa.certificate()));
      TlsCredentials renewed = Certificates.issue(newCa, List.of("client.example"), Duration.ofDays(1));
      assertEquals(Nbd.REP_ACK, goOverTls(at, renewed, newCa.certificate()), "the new CA's client is let in");
      assertThrows(IOException.class, () -> goOverTls(at, first, newCa.certificate()),
          "the old CA's client is not trusted any more");
    }
  }

  /** STARTTLS, then GO for export "d": the type of the final option reply. */
  private int goOverTls(java.net.InetSocketAddress at, TlsCredentials mine, X509Certificate trusted) throws Exception {
    try (RawClient c = new RawClient(at).handshake()) {
      c.option(Nbd.OPT_STARTTLS, new byte[0]);
      assertEquals(Nbd.REP_ACK, c.optionReply().type());
      try (SSLSocket tls = upgrade(c, mine, trusted, at.getPort())) {
        DataOutputStream out = new DataOutputStream(tls.getOutputStream());
        DataInputStream in = new DataInputStream(tls.getInputStream());
        option(out, Nbd.OPT_GO, RawClient.goData("d"));
        int type;
        while ((type = optionReplyType(in)) == Nbd.REP_INFO) {
          // skip
        }
        return type;
      }
    }
  }

  private SSLSocket upgrade(RawClient c, TlsCredentials mine, X509Certificate trusted) throws Exception {
    return upgrade(c, mine, trusted, address.getPort());
  }

  private SSLSocket upgrade(RawClient c, TlsCredentials mine, X509Certificate trusted, int port)
      throws Exception {
    KeyStore keys = KeyStore.getInstance("PKCS12");
    keys.load(null, null);
    keys.setKeyEntry("me", mine.privateKey(), new char[0],
        mine.chain().toArray(new X509Certificate[0]));
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(keys, new char[0]);
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    trust.setCertificateEntry("ca", trusted);
    TrustManagerFactory tmf =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
    SSLSocket tls = (SSLSocket) context.getSocketFactory().createSocket(c.socket, "localhost",
        port, true);
    tls.setUseClientMode(true);
    tls.startHandshake();
    return tls;
  }

  private static void option(DataOutputStream out, int option, byte[] data) throws IOException {
    out.writeLong(Nbd.IHAVEOPT);
    out.writeInt(option);
    out.writeInt(data.length);
    out.write(data);
    out.flush();
  }

  private static int optionReplyType(DataInputStream in) throws IOException {
    assertEquals(Nbd.OPTION_REPLY_MAGIC, in.readLong());
    in.readInt();
    int type = in.readInt();
    in.readFully(new byte[in.readInt()]);
    return type;
  }

  private static void request(DataOutputStream out, int type, long cookie, long offset,
      byte[] payload) throws IOException {
    out.writeInt(Nbd.REQUEST_MAGIC);
    out.writeShort(0);
    out.writeShort(type);
    out.writeLong(cookie);
    out.writeLong(offset);
    out.writeInt(payload == null ? 4096 : payload.length);
    if (payload != null) {
      out.write(payload);
    }
    out.flush();
  }
}
