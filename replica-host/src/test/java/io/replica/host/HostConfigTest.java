package io.replica.host;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HostConfigTest {
  @TempDir
  Path dir;

  private static final String TLS = "\"tls\": {\"certificate\": \"a.pem\", \"key\": \"a.key\", \"trust\": \"ca.pem\"}";

  private HostConfig read(String json) throws Exception {
    return HostConfig.read(Files.writeString(dir.resolve("host.json"), json));
  }

  private String refused(String json) {
    return assertThrows(HostConfig.InvalidConfigException.class, () -> read(json)).getMessage();
  }

  @Test
  void aFullConfigurationReadsWithPathsRelativeToItsFolder() throws Exception {
    HostConfig c = read("{\"hostName\": \"hv1.contoso.com\", \"stateFolder\": \"state\", " + TLS + ","
        + " \"replicaServer\": {\"listen\": \"0.0.0.0:443\", \"storage\": \"/srv/replicas\"},"
        + " \"nbd\": {\"unixSocket\": \"nbd.sock\", \"tcp\": \"127.0.0.1:10809\"},"
        + " \"machines\": [{\"name\": \"web01\", \"disks\": [{\"path\": \"web01.vhdx\"}, {\"path\": \"data.img\","
        + " \"sectorSize\": 4096}]}]}");
    assertEquals("hv1.contoso.com", c.hostName());
    assertEquals(dir.resolve("state"), c.stateFolder());
    assertEquals(443, c.replicaServer().orElseThrow().port());
    assertEquals(Path.of("/srv/replicas"), c.replicaServer().orElseThrow().storage());
    assertEquals(10809, c.nbd().tcpPort());
    HostConfig.Machine m = c.machines().get(0);
    assertTrue(m.disks().get(0).vhdx());
    assertEquals(4096, m.disks().get(1).sectorBytes());
    // Ids are stable: the same file read again gives the same machine and disk ids.
    HostConfig again = HostConfig.read(dir.resolve("host.json"));
    assertEquals(m.id(), again.machines().get(0).id());
    assertEquals(m.disks().get(1).id(), again.machines().get(0).disks().get(1).id());
  }

  @Test
  void mistakesNameTheFieldAndTheFix() {
    String base = "{\"hostName\": \"hv1\", \"stateFolder\": \"s\", " + TLS + ", \"nbd\": {\"unixSocket\": \"n\"}";
    assertTrue(refused("{").contains("is not valid JSON"), refused("{"));
    assertTrue(refused("[]").contains("must be a JSON object"));
    assertTrue(refused(base + ", \"colour\": 1}").contains("colour is not a setting here; known:"));
    assertTrue(refused("{\"stateFolder\": \"s\"}").contains("hostName is missing"));
    assertTrue(refused(base.replace("hv1", "bad host!") + "}").contains("is not a DNS name"));
    assertTrue(refused(base + ", \"replicaServer\": {\"listen\": \"nowhere\", \"storage\": \"r\"}}")
        .contains("replicaServer.listen 'nowhere' is not HOST:PORT"));
    assertTrue(refused(base + ", \"machines\": [{\"name\": \"a\", \"disks\": []}]}")
        .contains("machines[0].disks is empty"));
    assertTrue(refused(base + ", \"machines\": [{\"name\": \"a\", \"disks\": [{\"path\": \"x\"}]},"
        + " {\"name\": \"A\", \"disks\": [{\"path\": \"y\"}]}]}").contains("machines[1].name 'A' names two machines"));
    assertTrue(refused(base + ", \"machines\": [{\"name\": \"../etc\", \"disks\": [{\"path\": \"x\"}]}]}")
        .contains("is not a machine name"));
    assertTrue(refused(base + ", \"machines\": [{\"name\": \"a\", \"id\": \"nope\", \"disks\": [{\"path\": \"x\"}]}]}")
        .contains("machines[0].id 'nope' is not a UUID"));
    assertTrue(refused(base + ", \"machines\": [{\"name\": \"a\", \"disks\": [{\"path\": \"x\", \"sectorSize\": 1000}]}]}")
        .contains("machines[0].disks[0].sectorSize 1000 is not a logical sector size"));
    assertTrue(refused(base + ", \"machines\": [{\"name\": \"a\", \"disks\": [{\"path\": \"x\"}]},"
        + " {\"name\": \"b\", \"disks\": [{\"path\": \"./x\"}]}]}").contains("machines[1].disks[0].path"));
  }

  @Test
  void anOversizedFileIsRefusedBeforeItIsParsed() throws Exception {
    Path big = dir.resolve("big.json");
    Files.write(big, new byte[5 << 20]);
    String m = assertThrows(HostConfig.InvalidConfigException.class, () -> HostConfig.read(big)).getMessage();
    assertTrue(m.contains("at most"), m);
  }
}
