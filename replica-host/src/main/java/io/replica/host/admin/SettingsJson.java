package io.replica.host.admin;

import static io.replica.host.admin.AdminApi.printable;
import static io.replica.host.admin.BodyFields.bool;
import static io.replica.host.admin.BodyFields.instant;
import static io.replica.host.admin.BodyFields.integer;
import static io.replica.host.admin.BodyFields.number;
import static io.replica.host.admin.BodyFields.onlyFields;
import static io.replica.host.admin.BodyFields.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.replica.api.AuthenticationType;
import io.replica.api.DiskId;
import io.replica.api.RecoveryHistory;
import io.replica.api.ReplicationSettings;
import java.time.Duration;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;

/**
 * Replication settings as the management API writes and reads them (the body of {@code enable}),
 * for a host that keeps what it was asked to replicate across restarts.
 */
public final class SettingsJson {
  private static final JsonNodeFactory JSON = JsonNodeFactory.instance;
  private static final Set<String> SETTINGS_FIELDS = Set.of("replicaServer", "port",
      "authenticationType", "frequencySeconds", "additionalRecoveryPoints",
      "recoveryPointIntervalSeconds", "applicationConsistentEvery", "compression",
      "initialReplicationMethod", "exportLocation", "initialReplicationStartTime",
      "replicatedDisks", "trackingBlockSizeBytes", "resynchronizationThreshold",
      "bandwidthBytesPerSecondMax", "verifyIntervalSeconds");

  private SettingsJson() {}

  /** The settings as JSON; {@link #fromJson} reads them back to equal settings. */
  public static ObjectNode toJson(ReplicationSettings settings) {
    ObjectNode n = JSON.objectNode();
    n.put("replicaServer", settings.replicaServer());
    n.put("port", settings.replicaServerPort());
    n.put("authenticationType", settings.authenticationType().name().toLowerCase(Locale.ROOT));
    n.put("frequencySeconds", settings.replicationFrequency().toSeconds());
    n.put("compression", settings.compressionEnabled());
    RecoveryHistory h = settings.recoveryHistory();
    n.put("additionalRecoveryPoints", h.additionalPoints());
    n.put("recoveryPointIntervalSeconds", h.pointInterval().toSeconds());
    n.put("applicationConsistentEvery", h.applicationConsistentEvery());
    n.put("initialReplicationMethod", method(settings));
    settings.initialReplicationExportLocation().ifPresent(v -> n.put("exportLocation", v));
    settings.initialReplicationStartTime().ifPresent(v -> n.put("initialReplicationStartTime",
        v.toString()));
    ArrayNode disks = n.putArray("replicatedDisks");
    settings.replicatedDisks().stream().map(DiskId::toString).sorted().forEach(disks::add);
    n.put("trackingBlockSizeBytes", settings.trackingBlockSizeBytes());
    n.put("resynchronizationThreshold", settings.resynchronizationThreshold());
    n.put("bandwidthBytesPerSecondMax", settings.bandwidthBytesPerSecondMax());
    settings.verifyInterval().ifPresent(v -> n.put("verifyIntervalSeconds", v.toSeconds()));
    return n;
  }

  private static String method(ReplicationSettings s) {
    switch (s.initialReplicationMethod()) {
      case EXPORT_TO_MEDIA:
        return "export";
      case EXISTING_COPY:
        return "existing-copy";
      default:
        return "network";
    }
  }

  /**
   * Settings from JSON.
   *
   * @throws IllegalArgumentException naming the field that is wrong and what it takes
   */
  public static ReplicationSettings fromJson(ObjectNode json) {
    try {
      return read(json);
    } catch (ApiException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
  }

  /** Settings from a request body; what is wrong is a {@code 400} that names the field. */
  static ReplicationSettings read(ObjectNode b) {
    onlyFields(b, SETTINGS_FIELDS);
    if (!b.hasNonNull("replicaServer")) {
      throw ApiException.badRequest("field 'replicaServer' is required: the replica server's"
          + " host name");
    }
    try {
      ReplicationSettings.Builder s = ReplicationSettings.builder(text(b, "replicaServer"));
      if (b.has("authenticationType")) {
        String t = text(b, "authenticationType");
        try {
          s.authenticationType(AuthenticationType.valueOf(t.toUpperCase(Locale.ROOT)));
        } catch (IllegalArgumentException e) {
          throw ApiException.badRequest("field 'authenticationType' is '" + printable(t)
              + "'; use 'kerberos' or 'certificate'");
        }
      }
      if (b.has("port")) {
        s.replicaServerPort(integer(b, "port"));
      }
      if (b.has("frequencySeconds")) {
        s.replicationFrequency(Duration.ofSeconds(number(b, "frequencySeconds")));
      }
      if (b.has("compression")) {
        s.compressionEnabled(bool(b, "compression"));
      }
      if (b.has("additionalRecoveryPoints") || b.has("recoveryPointIntervalSeconds")
          || b.has("applicationConsistentEvery")) {
        int points = b.has("additionalRecoveryPoints") ? integer(b, "additionalRecoveryPoints") : 0;
        Duration interval = b.has("recoveryPointIntervalSeconds")
            ? Duration.ofSeconds(number(b, "recoveryPointIntervalSeconds"))
            : RecoveryHistory.DEFAULT_POINT_INTERVAL;
        int every = b.has("applicationConsistentEvery")
            ? integer(b, "applicationConsistentEvery") : 0;
        s.recoveryHistory(new RecoveryHistory(points, interval, every));
      }
      if (b.has("initialReplicationMethod")) {
        String m = text(b, "initialReplicationMethod");
        switch (m) {
          case "network":
            s.initialReplicationOverNetwork();
            break;
          case "export":
            if (!b.hasNonNull("exportLocation")) {
              throw ApiException.badRequest("initial replication method 'export' needs field"
                  + " 'exportLocation': the folder to export to");
            }
            s.initialReplicationByExport(text(b, "exportLocation"));
            break;
          case "existing-copy":
            s.initialReplicationFromExistingCopy();
            break;
          default:
            throw ApiException.badRequest("field 'initialReplicationMethod' is '" + printable(m)
                + "'; use 'network', 'export' or 'existing-copy'");
        }
      } else if (b.has("exportLocation")) {
        throw ApiException.badRequest("field 'exportLocation' needs"
            + " \"initialReplicationMethod\": \"export\"");
      }
      if (b.has("initialReplicationStartTime")) {
        s.initialReplicationStartTime(instant(b, "initialReplicationStartTime"));
      }
      if (b.has("replicatedDisks")) {
        JsonNode d = b.get("replicatedDisks");
        if (!d.isArray()) {
          throw ApiException.badRequest("field 'replicatedDisks' must be an array of disk ids");
        }
        Set<DiskId> disks = new HashSet<>();
        for (JsonNode e : d) {
          if (!e.isTextual()) {
            throw ApiException.badRequest("field 'replicatedDisks' must hold disk ids (strings)");
          }
          disks.add(DiskId.parse(e.asText()));
        }
        s.replicatedDisks(disks);
      }
      if (b.has("trackingBlockSizeBytes")) {
        s.trackingBlockSizeBytes(integer(b, "trackingBlockSizeBytes"));
      }
      if (b.has("resynchronizationThreshold")) {
        JsonNode v = b.get("resynchronizationThreshold");
        if (!v.isNumber()) {
          throw ApiException.badRequest("field 'resynchronizationThreshold' must be a number");
        }
        s.resynchronizationThreshold(v.asDouble());
      }
      if (b.has("bandwidthBytesPerSecondMax")) {
        s.bandwidthBytesPerSecondMax(number(b, "bandwidthBytesPerSecondMax"));
      }
      if (b.has("verifyIntervalSeconds")) {
        s.verifyInterval(b.get("verifyIntervalSeconds").isNull() ? null
            : Duration.ofSeconds(number(b, "verifyIntervalSeconds")));
      }
      return s.build();
    } catch (IllegalArgumentException e) {
      throw ApiException.badRequest(e.getMessage());
    }
  }
}
