package io.replica.core.replica;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.replica.api.CorruptDataException;
import java.io.IOException;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * A replica machine's durable state, {@code <vm>/replica.json}: who replicates it, its disks, and
 * the last cycle applied to them.
 */
public record ReplicaRecord(
    int version,
    String vm,
    String vmName,
    String primaryHost,
    String trustGroup,
    int trackingBlockSizeBytes,
    List<Disk> disks,
    long lastAppliedCycle,
    @Nullable String lastAppliedCutTime,
    boolean resynchronizationRequired,
    int additionalRecoveryPoints,
    List<PointRecord> points,
    boolean attachedDisks) {

  public static final int VERSION = 1;
  private static final ObjectMapper JSON = new ObjectMapper()
      .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);

  // attachedDisks: the disks are the ones this host ran the machine on as primary (reverse
  // replication after a planned failover), not disks of the storage location.

  /** One disk: its id, size and sector size. */
  public record Disk(String id, long sizeBytes, int logicalSectorSizeBytes) {}

  /** A kept recovery point: its cycle, cut time and type. */
  public record PointRecord(long cycle, String cutTime, String type) {}

  public ReplicaRecord {
    disks = List.copyOf(disks);
    points = points == null ? List.of() : List.copyOf(points);
  }

  ReplicaRecord applied(long cycle, String cutTime, List<PointRecord> kept) {
    return new ReplicaRecord(version, vm, vmName, primaryHost, trustGroup, trackingBlockSizeBytes,
        disks, cycle, cutTime, resynchronizationRequired, additionalRecoveryPoints, kept, attachedDisks);
  }

  ReplicaRecord withPrimary(String host, boolean resync) {
    return new ReplicaRecord(version, vm, vmName, host, trustGroup, trackingBlockSizeBytes, disks,
        lastAppliedCycle, lastAppliedCutTime, resync, additionalRecoveryPoints, points, attachedDisks);
  }

  ReplicaRecord withHistory(int additional, List<PointRecord> kept) {
    return new ReplicaRecord(version, vm, vmName, primaryHost, trustGroup, trackingBlockSizeBytes, disks,
        lastAppliedCycle, lastAppliedCutTime, resynchronizationRequired, additional, kept, attachedDisks);
  }

  public byte[] toJson() {
    try {
      return JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(this);
    } catch (IOException e) {
      throw new IllegalStateException("cannot write the state of replica " + vm, e);
    }
  }

  public static ReplicaRecord fromJson(String name, byte[] json) {
    try {
      ReplicaRecord r = JSON.readValue(json, ReplicaRecord.class);
      if (r.version() != VERSION) {
        throw new CorruptDataException(
            name + " has version " + r.version() + "; this engine reads version " + VERSION);
      }
      return r;
    } catch (IOException e) {
      throw new CorruptDataException(name + " is not a valid replica state document: " + e.getMessage(), e);
    }
  }
}
