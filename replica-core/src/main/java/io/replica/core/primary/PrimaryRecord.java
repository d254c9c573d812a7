package io.replica.core.primary;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.replica.api.CorruptDataException;
import io.replica.core.replica.ReplicaRecord;
import java.io.IOException;
import java.util.List;

/**
 * A primary relationship's durable state, {@code <vm>/primary.json} in the host's state store: with
 * the activity log beside it, a restarted primary resumes without comparing whole disks.
 */
public record PrimaryRecord(
    int version,
    String vm,
    String replicaServer,
    int replicaServerPort,
    int trackingBlockSizeBytes,
    List<ReplicaRecord.Disk> disks,
    long lastAckedCycle,
    long nextCycle) {

  static final int VERSION = 1;
  private static final ObjectMapper JSON = new ObjectMapper()
      .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);

  public PrimaryRecord {
    disks = List.copyOf(disks);
  }

  public static String name(io.replica.api.VmId vm) {
    return vm + "/primary.json";
  }

  public static String activityName(io.replica.api.VmId vm) {
    return vm + "/activity";
  }

  public byte[] toJson() {
    try {
      return JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(this);
    } catch (IOException e) {
      throw new IllegalStateException("cannot write the primary state of " + vm, e);
    }
  }

  public static PrimaryRecord fromJson(String name, byte[] json) {
    try {
      PrimaryRecord r = JSON.readValue(json, PrimaryRecord.class);
      if (r.version() != VERSION) {
        throw new CorruptDataException(name + " has version " + r.version() + "; this engine reads version " + VERSION);
      }
      return r;
    } catch (IOException e) {
      throw new CorruptDataException(name + " is not a valid primary state document: " + e.getMessage(), e);
    }
  }
}
