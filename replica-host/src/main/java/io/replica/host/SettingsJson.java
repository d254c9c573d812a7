package io.replica.host;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.replica.api.AuthenticationType;
import io.replica.api.RecoveryHistory;
import io.replica.api.ReplicationSettings;
import java.time.Duration;
import java.util.Locale;

/**
 * The replication settings the host keeps for each machine it replicates, so that a restart
 * enables the same relationship again (the engine resumes it only when disks, tracking block size
 * and replica server are the same).
 */
final class SettingsJson {
  private SettingsJson() {}

  static ObjectNode toJson(ReplicationSettings s) {
    ObjectNode o = JsonNodeFactory.instance.objectNode();
    o.put("replicaServer", s.replicaServer());
    o.put("replicaServerPort", s.replicaServerPort());
    o.put("authenticationType", s.authenticationType().name());
    o.put("compression", s.compressionEnabled());
    o.put("replicationFrequencySeconds", s.replicationFrequency().toSeconds());
    o.put("additionalRecoveryPoints", s.recoveryHistory().additionalPoints());
    o.put("recoveryPointIntervalSeconds", s.recoveryHistory().pointInterval().toSeconds());
    o.put("applicationConsistentEvery", s.recoveryHistory().applicationConsistentEvery());
    o.put("trackingBlockSizeBytes", s.trackingBlockSizeBytes());
    o.put("bandwidthBytesPerSecondMax", s.bandwidthBytesPerSecondMax());
    s.verifyInterval().ifPresent(v -> o.put("verifyIntervalSeconds", v.toSeconds()));
    return o;
  }

  /** @throws IllegalArgumentException naming what is wrong */
  static ReplicationSettings fromJson(JsonNode o) {
    if (!o.isObject() || !o.path("replicaServer").isTextual()) {
      throw new IllegalArgumentException("replication settings must be an object with a replicaServer");
    }
    ReplicationSettings.Builder b = ReplicationSettings.builder(o.get("replicaServer").asText())
        .replicaServerPort(o.path("replicaServerPort").asInt(0))
        .authenticationType(AuthenticationType.valueOf(
            o.path("authenticationType").asText("CERTIFICATE").toUpperCase(Locale.ROOT)))
        .compressionEnabled(o.path("compression").asBoolean(true))
        .replicationFrequency(Duration.ofSeconds(o.path("replicationFrequencySeconds").asLong(300)))
        .trackingBlockSizeBytes(o.path("trackingBlockSizeBytes").asInt(ReplicationSettings.builder("x").build()
            .trackingBlockSizeBytes()))
        .bandwidthBytesPerSecondMax(o.path("bandwidthBytesPerSecondMax").asLong(0));
    int points = o.path("additionalRecoveryPoints").asInt(0);
    if (points > 0) {
      b.recoveryHistory(new RecoveryHistory(points,
          Duration.ofSeconds(o.path("recoveryPointIntervalSeconds").asLong(RecoveryHistory.DEFAULT_POINT_INTERVAL
              .toSeconds())), o.path("applicationConsistentEvery").asInt(0)));
    }
    if (o.has("verifyIntervalSeconds")) {
      b.verifyInterval(Duration.ofSeconds(o.get("verifyIntervalSeconds").asLong()));
    }
    return b.build();
  }
}
