package io.replica.core.health;

import io.replica.api.ReplicationStatistics;
import io.replica.api.VmId;
import io.replica.core.context.EngineContext;
import java.time.Duration;
import java.time.Instant;
import org.jspecify.annotations.Nullable;

/**
 * The figures of one statistics window (Measure-VMReplication); a window ends after the monitoring
 * interval or at a reset. Guarded by the engine lock.
 */
public final class Stats {
  private Instant windowStart;
  private long successful;
  private long missed;
  private long errors;
  private long networkFailures;
  private long sizeTotal;
  private long sizeMax;
  private long latencyTotalNanos;
  private long latencyMaxNanos;
  long initialReplicationBytes;
  public @Nullable Instant lastReplicationTime;
  /** Monotonic time of the last success, for the "older than an hour" health rule. */
  public long lastSuccessNanos = Long.MIN_VALUE;

  public Stats(Instant now) {
    this.windowStart = now;
  }

  public void rollIfDue(Instant now, Duration monitoringInterval) {
    if (!now.isBefore(windowStart.plus(monitoringInterval))) {
      reset(now);
    }
  }

  public void reset(Instant now) {
    windowStart = now;
    successful = missed = errors = networkFailures = 0;
    sizeTotal = sizeMax = latencyTotalNanos = latencyMaxNanos = 0;
  }

  /** Initial replication is not a replication cycle; it sets the initial size. */
  public void initialReplication(long payloadBytes, Instant cutTime, long nowNanos) {
    initialReplicationBytes = payloadBytes;
    lastReplicationTime = cutTime;
    lastSuccessNanos = nowNanos;
  }

  public void success(long payloadBytes, long latencyNanos, Instant cutTime, long nowNanos) {
    successful++;
    sizeTotal += payloadBytes;
    sizeMax = Math.max(sizeMax, payloadBytes);
    latencyTotalNanos += latencyNanos;
    latencyMaxNanos = Math.max(latencyMaxNanos, latencyNanos);
    lastReplicationTime = cutTime;
    lastSuccessNanos = nowNanos;
  }

  public void missed() {
    missed++;
  }

  public void error() {
    errors++;
  }

  public void networkFailure() {
    networkFailures++;
  }

  public long successful() {
    return successful;
  }

  long missedCount() {
    return missed;
  }

  /** The statistics now, after rolling the monitoring window over if it is due. */
  public ReplicationStatistics snapshot(EngineContext engine, VmId vm, long pendingBytes, long lastCycle) {
    Instant now = engine.clock().instant();
    rollIfDue(now, engine.monitoringInterval());
    return snapshot(vm, now, pendingBytes, lastCycle);
  }

  public ReplicationStatistics snapshot(VmId vm, Instant now, long pendingBytes, long lastCycle) {
    return new ReplicationStatistics(vm, windowStart, now,
        successful == 0 ? 0 : sizeTotal / successful, sizeMax,
        Duration.ofNanos(successful == 0 ? 0 : latencyTotalNanos / successful),
        Duration.ofNanos(latencyMaxNanos), successful, missed, errors, networkFailures,
        pendingBytes, initialReplicationBytes, lastReplicationTime, lastCycle);
  }
}
