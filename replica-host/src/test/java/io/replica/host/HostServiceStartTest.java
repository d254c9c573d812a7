package io.replica.host;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replica.spi.storage.DiskSpec;
import io.replica.storage.vhdx.RawFileDisk;
import io.replica.transport.netty.Certificates;
import io.replica.transport.netty.TlsCredentials;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a host refuses or cleans up when it starts. */
class HostServiceStartTest {
  @TempDir
  Path dir;
  private Path config;

  @BeforeEach
  void files() throws Exception {
    TlsCredentials ca = Certificates.newCa("Host CA", Duration.ofDays(1));
    TlsCredentials.writeCertificatesPem(dir.resolve("ca.pem"), List.of(ca.certificate()));
    Certificates.issue(ca, "hv1.test", Duration.ofDays(1)).writePem(dir.resolve("hv1.pem"), dir.resolve("hv1.key"));
    RawFileDisk.create(dir.resolve("web01.img"), DiskSpec.dynamic(1 << 20)).close();
    config = Files.writeString(dir.resolve("host.json"), """
        {"hostName": "hv1.test", "stateFolder": "state",
         "tls": {"certificate": "hv1.pem", "key": "hv1.key", "trust": "ca.pem"},
         "nbd": {"unixSocket": "nbd.sock"},
         "machines": [{"name": "web01", "disks": [{"path": "web01.img"}]}]}
        """);
  }

  @Test
  void aSecondHostOnTheSameStateFolderIsRefused() throws Exception {
    try (HostService first = HostService.start(HostConfig.read(config))) {
      IOException e = assertThrows(IOException.class, () -> HostService.start(HostConfig.read(config)));
      assertTrue(e.getMessage().contains("another replica host runs with the state folder"), e.getMessage());
    }
    HostService.start(HostConfig.read(config)).close(); // free again once the first stopped
  }

  @Test
  void trackingStateWithoutKeptSettingsIsDroppedSoThatTheNextEnableCopiesEverything() throws Exception {
    // As if the host's replication.json were lost: the engine's state for web01 is stale, since
    // the guest's writes after this start are not tracked until web01 is enabled again.
    HostConfig c = HostConfig.read(config);
    Path stale = Files.createDirectories(c.stateFolder().resolve("primary").resolve(c.machines().get(0).id().toString()));
    Files.writeString(stale.resolve("primary.json"), "{}");
    try (HostService host = HostService.start(c)) {
      assertFalse(Files.exists(stale.resolve("primary.json")), "the stale state was dropped");
    }
  }

  @Test
  void unusableKeptSettingsStopTheStartInsteadOfExportingUntrackedDisks() throws Exception {
    HostConfig c = HostConfig.read(config);
    Path kept = Files.createDirectories(c.stateFolder().resolve("host")).resolve("replication.json");
    Files.writeString(kept, "{\"" + c.machines().get(0).id() + "\": {\"colour\": 1}}");
    IOException e = assertThrows(IOException.class, () -> HostService.start(c));
    assertTrue(e.getMessage().contains("cannot be used") && e.getMessage().contains("restore the file"), e.getMessage());
    assertFalse(Files.exists(dir.resolve("nbd.sock")), "no NBD socket was opened");
  }
}
