package io.replica.host.admin;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.replica.api.ReplicationSettings;

/**
 * Replication settings as the management API writes and reads them (the body of {@code enable}),
 * for a host that keeps what it was asked to replicate across restarts.
 */
public final class SettingsJson {
  private SettingsJson() {}

  /** The settings as JSON; {@link #fromJson} reads them back to equal settings. */
  public static ObjectNode toJson(ReplicationSettings settings) {
    return AdminApi.settingsView(settings);
  }

  /**
   * Settings from JSON.
   *
   * @throws IllegalArgumentException naming the field that is wrong and what it takes
   */
  public static ReplicationSettings fromJson(ObjectNode json) {
    return AdminApi.settingsFromJson(json);
  }
}
