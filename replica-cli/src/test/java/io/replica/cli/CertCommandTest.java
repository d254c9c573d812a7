package io.replica.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replica.transport.netty.Certificates;
import io.replica.transport.netty.TlsCredentials;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CertCommandTest {
  @TempDir Path dir;

  record Run(int code, String out, String err) {}

  static Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
    return new Run(code, out.toString(), err.toString());
  }

  static void openssl(Path dir, String... args) throws Exception {
    List<String> cmd = new java.util.ArrayList<>(List.of("openssl"));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0,
        String.join(" ", cmd) + ": " + out);
  }

  @Test
  void newCaIssueAndSelfSignedWritePemAndPkcs12ThatOpensslAccepts() throws Exception {
    String ca = dir.resolve("ca.pem").toString();
    String caKey = dir.resolve("ca.key").toString();
    Run r = run("cert", "new-ca", "--name", "Test CA", "--cert", ca, "--key", caKey);
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().contains("wrote " + ca), r.out());
    r = run("cert", "issue", "--host", "hv1.contoso.test", "--host", "localhost",
        "--ca-cert", ca, "--ca-key", caKey,
        "--cert", dir.resolve("hv1.pem").toString(), "--key", dir.resolve("hv1.key").toString(),
        "--pkcs12", dir.resolve("hv1.p12").toString(), "--password", "secret");
    assertEquals(0, r.code(), r.err());
    TlsCredentials hv1 = TlsCredentials.readPem(dir.resolve("hv1.pem"), dir.resolve("hv1.key"));
    assertEquals(List.of("hv1.contoso.test", "localhost"),
        Certificates.hostNames(hv1.certificate()));
    assertTrue(hv1.certificate().getExtendedKeyUsage().containsAll(
        List.of("1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2")));
    assertEquals(hv1.chain(), TlsCredentials.readPkcs12(dir.resolve("hv1.p12"),
        "secret".toCharArray()).chain());
    openssl(dir, "verify", "-CAfile", "ca.pem", "-purpose", "sslclient", "hv1.pem");
    openssl(dir, "verify", "-CAfile", "ca.pem", "-purpose", "sslserver", "hv1.pem");
    r = run("cert", "self-signed", "--host", "lonely.test",
        "--cert", dir.resolve("lonely.pem").toString(),
        "--key", dir.resolve("lonely.key").toString());
    assertEquals(0, r.code(), r.err());
    openssl(dir, "verify", "-CAfile", "lonely.pem", "lonely.pem");
  }

  @Test
  void pkcs12WithoutPasswordIsAUsageError() {
    Run r = run("cert", "self-signed", "--host", "x.test",
        "--cert", dir.resolve("x.pem").toString(), "--key", dir.resolve("x.key").toString(),
        "--pkcs12", dir.resolve("x.p12").toString());
    assertEquals(2, r.code());
    assertTrue(r.err().contains("--password"), r.err());
  }

  @Test
  void issueWithoutCaSaysHowToMakeOne() {
    Run r = run("cert", "issue", "--host", "x.test",
        "--ca-cert", dir.resolve("missing.pem").toString(),
        "--ca-key", dir.resolve("missing.key").toString());
    assertEquals(1, r.code());
    assertTrue(r.err().contains("replica cert new-ca"), r.err());
  }
}
