package io.replica.core.replica;

import io.replica.api.HealthState;
import io.replica.api.ReplicationHealth;
import io.replica.api.VmId;

/**
 * A replica machine whose state on this host could not be read at start (a corrupt or unreadable
 * {@code replica.json}, undo log or journal). It is kept apart so that the host's other machines
 * load and replicate as usual: this one reports Critical health with the reason until the operator
 * restores its files and applies the replica server settings again, or removes its replication.
 *
 * @param vm the machine, from the name of its folder
 * @param location the storage location that holds it
 * @param reason what could not be read, where, and what to do
 */
public record UnreadableReplica(VmId vm, String location, String reason) {

  public ReplicationHealth health() {
    return new ReplicationHealth(HealthState.CRITICAL, java.util.List.of(reason));
  }

  /** The reason for the failure {@code cause} of reading {@code file} of {@code vm}. */
  public static String reason(VmId vm, String location, String file, String hostName, String cause) {
    String where = location.endsWith("/") ? location + file : location + "/" + file;
    return "replica of virtual machine " + vm + " on " + hostName + " cannot be loaded: " + where
        + " cannot be read (" + firstLine(cause) + "); restore the file from a backup and apply"
        + " the replica server settings again, or remove replication of the machine on this host"
        + " and enable it again from the primary";
  }

  private static String firstLine(String text) {
    String line = text.strip().lines().findFirst().orElse("");
    return line.length() > 200 ? line.substring(0, 200) + "..." : line;
  }
}
