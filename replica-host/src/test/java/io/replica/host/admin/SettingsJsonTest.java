package io.replica.host.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replica.api.AuthenticationType;
import io.replica.api.RecoveryHistory;
import io.replica.api.ReplicationSettings;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class SettingsJsonTest {
  @Test
  void settingsRoundTripThroughTheirJson() {
    ReplicationSettings s = ReplicationSettings.builder("hv2.fabrikam.com").replicaServerPort(8443)
        .authenticationType(AuthenticationType.CERTIFICATE).compressionEnabled(false)
        .replicationFrequency(Duration.ofSeconds(30)).recoveryHistory(new RecoveryHistory(4, Duration.ofHours(2), 0))
        .bandwidthBytesPerSecondMax(1 << 20).verifyInterval(Duration.ofHours(24)).build();
    assertEquals(s, SettingsJson.fromJson(SettingsJson.toJson(s)));
    ReplicationSettings defaults = ReplicationSettings.builder("hv2.fabrikam.com").build();
    assertEquals(defaults, SettingsJson.fromJson(SettingsJson.toJson(defaults)));
  }

  @Test
  void badJsonNamesTheField() {
    var json = SettingsJson.toJson(ReplicationSettings.builder("hv2").build());
    json.put("colour", "blue");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SettingsJson.fromJson(json));
    assertTrue(e.getMessage().contains("'colour'"), e.getMessage());
  }
}
