package io.replica.api;

import java.time.Duration;
import java.time.Instant;
import org.jspecify.annotations.Nullable;

/**
 * What {@code Measure-VMReplication} reports, over the monitoring window that started at
 * {@code windowStart} (or at the last reset).
 *
 * @param vm the machine
 * @param windowStart start of the statistics window
 * @param windowEnd when these figures were taken
 * @param averageReplicationSizeBytes mean payload of a successful cycle
 * @param maximumReplicationSizeBytes largest payload of a successful cycle
 * @param averageLatency mean time from cut to durable acknowledgement
 * @param maximumLatency longest time from cut to durable acknowledgement
 * @param successfulReplicationCount cycles acknowledged
 * @param missedReplicationCount cycles that could not start on time
 * @param replicationErrors cycles that failed (refused, connection lost, storage errors)
 * @param networkFailureCount connections lost or refused
 * @param pendingReplicationSizeBytes changed bytes not yet acknowledged by the replica
 * @param initialReplicationSizeBytes payload of the initial replication (0 before it ran)
 * @param lastReplicationTime cut time of the last acknowledged cycle, null if none
 * @param lastAppliedCycle number of the last acknowledged cycle, -1 if none
 */
public record ReplicationStatistics(
    VmId vm,
    Instant windowStart,
    Instant windowEnd,
    long averageReplicationSizeBytes,
    long maximumReplicationSizeBytes,
    Duration averageLatency,
    Duration maximumLatency,
    long successfulReplicationCount,
    long missedReplicationCount,
    long replicationErrors,
    long networkFailureCount,
    long pendingReplicationSizeBytes,
    long initialReplicationSizeBytes,
    @Nullable Instant lastReplicationTime,
    long lastAppliedCycle) {}
