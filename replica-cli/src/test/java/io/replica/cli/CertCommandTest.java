package io.replica.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
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

  /**
   * A self-signed certificate (a CA with {@code ca}) made by the JDK's keytool, valid from
   * {@code start} (e.g. "-30d") for {@code days}: keytool can date certificates in the past and
   * the future, which {@code replica cert} rightly cannot. Written as NAME.pem and NAME.key.
   */
  static void keytool(Path dir, String name, String start, int days, boolean ca)
      throws Exception {
    Path store = dir.resolve(name + ".p12");
    List<String> cmd = new java.util.ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "keytool").toString(), "-genkeypair",
        "-keystore", store.toString(), "-storetype", "pkcs12", "-storepass", "secret", "-alias",
        name, "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=" + name, "-ext",
        "san=dns:" + name, "-startdate", start, "-validity", Integer.toString(days)));
    if (ca) {
      cmd.addAll(List.of("-ext", "bc:c"));
    }
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String output = new String(p.getInputStream().readAllBytes());
    assertEquals(0, p.waitFor(), output);
    TlsCredentials.readPkcs12(store, "secret".toCharArray())
        .writePem(dir.resolve(name + ".pem"), dir.resolve(name + ".key"));
  }

  private static void assertOneLine(Run r, int code, String... words) {
    assertEquals(code, r.code(), r.out() + r.err());
    assertEquals(1, r.err().strip().lines().count(), r.err());
    assertTrue(!r.err().contains("Exception") && !r.err().contains("\tat "), r.err());
    for (String w : words) {
      assertTrue(r.err().contains(w), "'" + w + "' missing in " + r.err());
    }
  }

  @Test
  void issueRefusesACaThatCannotSign() throws Exception {
    String ca = dir.resolve("ca.pem").toString();
    String caKey = dir.resolve("ca.key").toString();
    assertEquals(0, run("cert", "new-ca", "--cert", ca, "--key", caKey).code());
    assertEquals(0, run("cert", "self-signed", "--host", "h.test", "--cert",
        dir.resolve("h.pem").toString(), "--key", dir.resolve("h.key").toString()).code());
    String out = dir.resolve("x.pem").toString();
    String outKey = dir.resolve("x.key").toString();
    // The CA certificate with another key.
    assertOneLine(run("cert", "issue", "--host", "x.test", "--ca-cert", ca, "--ca-key",
        dir.resolve("h.key").toString(), "--cert", out, "--key", outKey), 1,
        "cert issue: the private key in " + dir.resolve("h.key") + " does not belong to the"
            + " certificate in " + ca);
    // A host certificate in place of the CA.
    assertOneLine(run("cert", "issue", "--host", "x.test", "--ca-cert",
        dir.resolve("h.pem").toString(), "--ca-key", dir.resolve("h.key").toString(), "--cert",
        out, "--key", outKey), 1, "is not a CA");
    // A CA that expired, and one not valid yet.
    keytool(dir, "old-ca", "-30d", 10, true);
    assertOneLine(run("cert", "issue", "--host", "x.test", "--ca-cert",
        dir.resolve("old-ca.pem").toString(), "--ca-key", dir.resolve("old-ca.key").toString(),
        "--cert", out, "--key", outKey), 1, "'CN=old-ca'", "expired on");
    keytool(dir, "new-ca", "+30d", 10, true);
    assertOneLine(run("cert", "issue", "--host", "x.test", "--ca-cert",
        dir.resolve("new-ca.pem").toString(), "--ca-key", dir.resolve("new-ca.key").toString(),
        "--cert", out, "--key", outKey), 1, "'CN=new-ca'", "is not valid before");
    assertTrue(!java.nio.file.Files.exists(dir.resolve("x.pem")), "nothing was issued");
  }

  @Test
  void badOutputsValiditiesAndHostNamesAreOneLine() throws Exception {
    java.nio.file.Path folder = java.nio.file.Files.createDirectories(dir.resolve("out"));
    String pem = dir.resolve("y.pem").toString();
    String key = dir.resolve("y.key").toString();
    assertOneLine(run("cert", "self-signed", "--host", "y.test", "--cert", folder.toString(),
        "--key", key), 2, "cert self-signed: --cert '" + folder + "' is a folder");
    assertOneLine(run("cert", "self-signed", "--host", "y.test", "--cert", pem, "--key", key,
        "--pkcs12", folder.toString(), "--password", "x"), 2, "--pkcs12 '" + folder + "'");
    assertOneLine(run("cert", "new-ca", "--cert", dir.resolve("no/such/ca.pem").toString(),
        "--key", key), 2, "does not exist");
    assertOneLine(run("cert", "self-signed", "--host", "y.test", "--validity", "0h",
        "--cert", pem, "--key", key), 2, "--validity PT0S is not positive");
    assertOneLine(run("cert", "self-signed", "--host", "bad host!", "--cert", pem, "--key",
        key), 2, "--host 'bad host!' is not a DNS name");
    assertOneLine(run("cert", "issue", "--host", "ok.test", "--host", "no_underscores.test",
        "--cert", pem, "--key", key), 2, "'no_underscores.test' is not a DNS name");
    assertTrue(!java.nio.file.Files.exists(dir.resolve("y.pem")), "nothing was written");
  }

  @Test
  void anExistingOutputIsKeptUnlessForced() throws Exception {
    String ca = dir.resolve("ca.pem").toString();
    String caKey = dir.resolve("ca.key").toString();
    assertEquals(0, run("cert", "new-ca", "--cert", ca, "--key", caKey).code());
    byte[] key = java.nio.file.Files.readAllBytes(dir.resolve("ca.key"));
    assertOneLine(run("cert", "new-ca", "--cert", dir.resolve("other.pem").toString(), "--key", caKey), 2,
        "cert new-ca: --key '" + caKey + "' exists", "--force");
    assertArrayEquals(key, java.nio.file.Files.readAllBytes(dir.resolve("ca.key")), "the CA key is untouched");
    assertTrue(!java.nio.file.Files.exists(dir.resolve("other.pem")), "nothing was written");
    assertEquals(0, run("cert", "new-ca", "--cert", ca, "--key", caKey, "--force").code());
    assertTrue(!java.util.Arrays.equals(key, java.nio.file.Files.readAllBytes(dir.resolve("ca.key"))),
        "--force replaced it");
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
