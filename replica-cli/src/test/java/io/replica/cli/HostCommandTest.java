package io.replica.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HostCommandTest {
  @TempDir
  Path dir;

  @Test
  void aWrongConfigurationIsOneLineWithTheFieldAndExitTwo() throws Exception {
    CertCommandTest.Run missing = CertCommandTest.run("host", "--config", dir.resolve("none.json").toString());
    assertEquals(2, missing.code());
    assertTrue(missing.err().contains("is not a file"), missing.err());

    Path bad = Files.writeString(dir.resolve("host.json"), "{\"hostName\": \"hv1\", \"stateFolder\": \"s\"}");
    CertCommandTest.Run r = CertCommandTest.run("host", "--config", bad.toString());
    assertEquals(2, r.code(), r.out() + r.err());
    assertEquals(1, r.err().strip().lines().count(), r.err());
    assertTrue(r.err().startsWith("replica host: " + bad + ": tls is missing"), r.err());
  }

  @Test
  void testConnectionRefusesAPrincipalThatIsNotAHostPrincipal() {
    CertCommandTest.Run r = CertCommandTest.run("test-connection", "localhost:1", "--keytab",
        dir.resolve("none.keytab").toString(), "--principal", "host/hv1");
    assertEquals(2, r.code(), r.out() + r.err());
    assertTrue(r.err().contains("is not a host principal; write host/FQDN@REALM"), r.err());
  }

  @Test
  void aHostThatCannotStartSaysWhyAndExitsOne() throws Exception {
    Path config = Files.writeString(dir.resolve("host.json"), """
        {"hostName": "hv1.test", "stateFolder": "state",
         "tls": {"certificate": "no.pem", "key": "no.key", "trust": "ca.pem"},
         "nbd": {"unixSocket": "nbd.sock"}}
        """);
    CertCommandTest.Run r = CertCommandTest.run("host", "--config", config.toString());
    assertEquals(1, r.code(), r.out() + r.err());
    assertTrue(r.err().startsWith("replica host: cannot start:") && r.err().contains("no.pem"), r.err());
  }
}
