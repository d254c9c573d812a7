package io.replica.api;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.jspecify.annotations.Nullable;

/**
 * How one virtual machine replicates (Hyper-V's {@code Enable-VMReplication}): where to, how
 * authenticated, how often, which disks, how much history, and how the first copy gets there.
 *
 * <p>Immutable; build one with {@link #builder(String)}. The builder checks each value; the engine
 * then rejects with {@link UnsupportedOperationException} any setting it does not implement yet.
 */
public final class ReplicationSettings {

  /** Hyper-V's shortest preset. */
  public static final Duration FREQUENCY_30_SECONDS = Duration.ofSeconds(30);
  /** Hyper-V's default. */
  public static final Duration FREQUENCY_5_MINUTES = Duration.ofMinutes(5);
  /** Hyper-V's longest preset. */
  public static final Duration FREQUENCY_15_MINUTES = Duration.ofMinutes(15);
  /** The shortest replication frequency accepted. */
  public static final Duration MIN_FREQUENCY = Duration.ofSeconds(1);
  /** A daily online verify, for {@link Builder#verifyInterval(Duration)}. */
  public static final Duration VERIFY_DAILY = Duration.ofDays(1);
  /** The shortest interval of scheduled online verifies. */
  public static final Duration MIN_VERIFY_INTERVAL = Duration.ofMinutes(1);
  /** The default change-tracking granularity. */
  public static final int DEFAULT_TRACKING_BLOCK_SIZE_BYTES = 4096;

  private final String replicaServer;
  private final int replicaServerPort;
  private final AuthenticationType authenticationType;
  private final boolean compressionEnabled;
  private final Set<DiskId> replicatedDisks;
  private final Duration replicationFrequency;
  private final RecoveryHistory recoveryHistory;
  private final InitialReplicationMethod initialReplicationMethod;
  private final @Nullable String initialReplicationExportLocation;
  private final @Nullable Instant initialReplicationStartTime;
  private final int trackingBlockSizeBytes;
  private final double resynchronizationThreshold;
  private final @Nullable ResynchronizationWindow autoResynchronization;
  private final long bandwidthBytesPerSecondMax;
  private final @Nullable Duration verifyInterval;

  private ReplicationSettings(Builder b) {
    this.replicaServer = b.replicaServer;
    this.authenticationType = b.authenticationType;
    this.replicaServerPort =
        b.replicaServerPort == 0 ? b.authenticationType.defaultPort() : b.replicaServerPort;
    this.compressionEnabled = b.compressionEnabled;
    this.replicatedDisks = Set.copyOf(b.replicatedDisks);
    this.replicationFrequency = b.replicationFrequency;
    this.recoveryHistory = b.recoveryHistory;
    this.initialReplicationMethod = b.initialReplicationMethod;
    this.initialReplicationExportLocation = b.initialReplicationExportLocation;
    this.initialReplicationStartTime = b.initialReplicationStartTime;
    this.trackingBlockSizeBytes = b.trackingBlockSizeBytes;
    this.resynchronizationThreshold = b.resynchronizationThreshold;
    this.autoResynchronization = b.autoResynchronization;
    this.bandwidthBytesPerSecondMax = b.bandwidthBytesPerSecondMax;
    this.verifyInterval = b.verifyInterval;
  }

  /**
   * A builder for replication to {@code replicaServer} (a host name or a replica broker's name).
   *
   * @throws IllegalArgumentException if the name is blank
   */
  public static Builder builder(String replicaServer) {
    return new Builder(replicaServer);
  }

  /** A builder that starts from these settings. */
  public Builder toBuilder() {
    Builder b = new Builder(replicaServer)
        .authenticationType(authenticationType)
        // the type's default port goes back as 0, so that a later change of type moves the port too
        .replicaServerPort(replicaServerPort == authenticationType.defaultPort() ? 0 : replicaServerPort)
        .compressionEnabled(compressionEnabled)
        .replicatedDisks(replicatedDisks)
        .replicationFrequency(replicationFrequency)
        .recoveryHistory(recoveryHistory)
        .trackingBlockSizeBytes(trackingBlockSizeBytes)
        .resynchronizationThreshold(resynchronizationThreshold)
        .autoResynchronization(autoResynchronization)
        .bandwidthBytesPerSecondMax(bandwidthBytesPerSecondMax)
        .verifyInterval(verifyInterval)
        .initialReplicationStartTime(initialReplicationStartTime);
    b.initialReplicationMethod = initialReplicationMethod;
    b.initialReplicationExportLocation = initialReplicationExportLocation;
    return b;
  }

  /** The replica server or broker name. */
  public String replicaServer() {
    return replicaServer;
  }

  /** The replica server's port; the authentication type's default unless set. */
  public int replicaServerPort() {
    return replicaServerPort;
  }

  /** How this primary authenticates. */
  public AuthenticationType authenticationType() {
    return authenticationType;
  }

  /** Whether block payloads travel compressed. */
  public boolean compressionEnabled() {
    return compressionEnabled;
  }

  /** The disks to replicate; empty means every disk of the machine. */
  public Set<DiskId> replicatedDisks() {
    return replicatedDisks;
  }

  /** How often a cycle is cut and sent. */
  public Duration replicationFrequency() {
    return replicationFrequency;
  }

  /** Which recovery points the replica keeps. */
  public RecoveryHistory recoveryHistory() {
    return recoveryHistory;
  }

  /** How the first full copy reaches the replica. */
  public InitialReplicationMethod initialReplicationMethod() {
    return initialReplicationMethod;
  }

  /** The folder an export goes to, for {@link InitialReplicationMethod#EXPORT_TO_MEDIA}. */
  public Optional<String> initialReplicationExportLocation() {
    return Optional.ofNullable(initialReplicationExportLocation);
  }

  /** When initial replication starts; empty for as soon as it is asked for. */
  public Optional<Instant> initialReplicationStartTime() {
    return Optional.ofNullable(initialReplicationStartTime);
  }

  /** The change-tracking granularity in bytes. */
  public int trackingBlockSizeBytes() {
    return trackingBlockSizeBytes;
  }

  /**
   * The share of the replicated disks' size that changes may reach while the replica cannot take
   * them before the relationship requires a resynchronization (Hyper-V: half the disk size).
   */
  public double resynchronizationThreshold() {
    return resynchronizationThreshold;
  }

  /** When a required resynchronization starts by itself; empty for only when asked. */
  public Optional<ResynchronizationWindow> autoResynchronization() {
    return Optional.ofNullable(autoResynchronization);
  }

  /**
   * The most block data this relationship sends per second, averaged over a second; 0 for no
   * limit of its own (the transport may still limit the host or the connection).
   */
  public long bandwidthBytesPerSecondMax() {
    return bandwidthBytesPerSecondMax;
  }

  /**
   * How often the replica is verified online by itself (see {@code ReplicationManager.verify}),
   * counted from the end of initial replication and then from each verify's start; empty (the
   * default) for only when asked. Off by default because a verify reads every block of every disk
   * on both hosts; daily ({@link #VERIFY_DAILY}) or weekly suits most operators, as DRBD's
   * {@code verify} from cron does.
   */
  public Optional<Duration> verifyInterval() {
    return Optional.ofNullable(verifyInterval);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ReplicationSettings s
        && replicaServer.equals(s.replicaServer)
        && replicaServerPort == s.replicaServerPort
        && authenticationType == s.authenticationType
        && compressionEnabled == s.compressionEnabled
        && replicatedDisks.equals(s.replicatedDisks)
        && replicationFrequency.equals(s.replicationFrequency)
        && recoveryHistory.equals(s.recoveryHistory)
        && initialReplicationMethod == s.initialReplicationMethod
        && Objects.equals(initialReplicationExportLocation, s.initialReplicationExportLocation)
        && Objects.equals(initialReplicationStartTime, s.initialReplicationStartTime)
        && trackingBlockSizeBytes == s.trackingBlockSizeBytes
        && resynchronizationThreshold == s.resynchronizationThreshold
        && Objects.equals(autoResynchronization, s.autoResynchronization)
        && bandwidthBytesPerSecondMax == s.bandwidthBytesPerSecondMax
        && Objects.equals(verifyInterval, s.verifyInterval);
  }

  @Override
  public int hashCode() {
    return Objects.hash(replicaServer, replicaServerPort, authenticationType, replicationFrequency);
  }

  @Override
  public String toString() {
    return "ReplicationSettings[replicaServer=" + replicaServer + ":" + replicaServerPort
        + ", authentication=" + authenticationType + ", compression=" + compressionEnabled
        + ", disks=" + (replicatedDisks.isEmpty() ? "all" : new TreeSet<>(replicatedDisks))
        + ", frequency=" + replicationFrequency + ", history=" + recoveryHistory
        + ", initialReplication=" + initialReplicationMethod
        + (initialReplicationStartTime == null ? "" : " at " + initialReplicationStartTime)
        + ", trackingBlockSize=" + trackingBlockSizeBytes
        + (bandwidthBytesPerSecondMax == 0 ? "" : ", bandwidth=" + bandwidthBytesPerSecondMax + " B/s")
        + (verifyInterval == null ? "" : ", verify every " + verifyInterval) + "]";
  }

  /** Builds {@link ReplicationSettings}; each setter checks its value at once. */
  public static final class Builder {
    private final String replicaServer;
    private int replicaServerPort;
    private AuthenticationType authenticationType = AuthenticationType.KERBEROS;
    private boolean compressionEnabled;
    private Set<DiskId> replicatedDisks = Set.of();
    private Duration replicationFrequency = FREQUENCY_5_MINUTES;
    private RecoveryHistory recoveryHistory = RecoveryHistory.latestOnly();
    private InitialReplicationMethod initialReplicationMethod = InitialReplicationMethod.NETWORK;
    private @Nullable String initialReplicationExportLocation;
    private @Nullable Instant initialReplicationStartTime;
    private int trackingBlockSizeBytes = DEFAULT_TRACKING_BLOCK_SIZE_BYTES;
    private double resynchronizationThreshold = 0.5;
    private @Nullable ResynchronizationWindow autoResynchronization = ResynchronizationWindow.HYPER_V_DEFAULT;
    private long bandwidthBytesPerSecondMax;
    private @Nullable Duration verifyInterval;

    private Builder(String replicaServer) {
      Objects.requireNonNull(replicaServer, "replicaServer");
      if (replicaServer.isBlank()) {
        throw new IllegalArgumentException("replica server name is blank; give a host or broker name");
      }
      this.replicaServer = replicaServer;
    }

    /**
     * The replica server's port; 0 (the default) for the authentication type's default port.
     *
     * @throws IllegalArgumentException if outside 0-65535
     */
    public Builder replicaServerPort(int port) {
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException(
            "replica server port " + port + " is out of range; use 1-65535, or 0 for the default");
      }
      this.replicaServerPort = port;
      return this;
    }

    /** How this primary authenticates; {@link AuthenticationType#KERBEROS} by default. */
    public Builder authenticationType(AuthenticationType type) {
      this.authenticationType = Objects.requireNonNull(type, "authenticationType");
      return this;
    }

    /** Whether block payloads travel compressed; off by default. */
    public Builder compressionEnabled(boolean enabled) {
      this.compressionEnabled = enabled;
      return this;
    }

    /** The disks to replicate (the boot disk must be among them); empty, the default, for all. */
    public Builder replicatedDisks(Set<DiskId> disks) {
      this.replicatedDisks = Set.copyOf(disks);
      return this;
    }

    /**
     * How often a cycle is cut: a Hyper-V preset ({@link #FREQUENCY_30_SECONDS},
     * {@link #FREQUENCY_5_MINUTES}, {@link #FREQUENCY_15_MINUTES}) or any duration of at least one
     * second.
     *
     * @throws IllegalArgumentException if shorter than {@link #MIN_FREQUENCY}
     */
    public Builder replicationFrequency(Duration frequency) {
      Objects.requireNonNull(frequency, "replicationFrequency");
      if (frequency.compareTo(MIN_FREQUENCY) < 0) {
        throw new IllegalArgumentException(
            "replication frequency " + frequency + " is too short; allowed: 1 second or more"
                + " (Hyper-V presets: 30 s, 5 min, 15 min)");
      }
      this.replicationFrequency = frequency;
      return this;
    }

    /**
     * The most block data per second this relationship sends (a token bucket holding one second's
     * worth); 0, the default, for no limit of its own.
     *
     * @throws IllegalArgumentException if negative
     */
    public Builder bandwidthBytesPerSecondMax(long bytesPerSecond) {
      if (bytesPerSecond < 0) {
        throw new IllegalArgumentException("bandwidth limit " + bytesPerSecond + " bytes per second is negative;"
            + " use 0 for no limit");
      }
      this.bandwidthBytesPerSecondMax = bytesPerSecond;
      return this;
    }

    /** Which recovery points to keep; the latest only by default. */
    public Builder recoveryHistory(RecoveryHistory history) {
      this.recoveryHistory = Objects.requireNonNull(history, "recoveryHistory");
      return this;
    }

    /** Initial replication over the network (the default). */
    public Builder initialReplicationOverNetwork() {
      this.initialReplicationMethod = InitialReplicationMethod.NETWORK;
      this.initialReplicationExportLocation = null;
      return this;
    }

    /** Initial replication exported to {@code folder} and imported on the replica. */
    public Builder initialReplicationByExport(String folder) {
      Objects.requireNonNull(folder, "folder");
      if (folder.isBlank()) {
        throw new IllegalArgumentException("initial replication export folder is blank");
      }
      this.initialReplicationMethod = InitialReplicationMethod.EXPORT_TO_MEDIA;
      this.initialReplicationExportLocation = folder;
      return this;
    }

    /** Initial replication from a copy that already exists on the replica. */
    public Builder initialReplicationFromExistingCopy() {
      this.initialReplicationMethod = InitialReplicationMethod.EXISTING_COPY;
      this.initialReplicationExportLocation = null;
      return this;
    }

    /** When initial replication starts (at most 7 days ahead); null for at once. */
    public Builder initialReplicationStartTime(@Nullable Instant startTime) {
      this.initialReplicationStartTime = startTime;
      return this;
    }

    /**
     * The change-tracking granularity: a power of two from 512 bytes to 1 MiB, and a multiple of
     * every replicated disk's logical sector size.
     *
     * @throws IllegalArgumentException if not a power of two in range
     */
    public Builder trackingBlockSizeBytes(int bytes) {
      if (bytes < 512 || bytes > (1 << 20) || Integer.bitCount(bytes) != 1) {
        throw new IllegalArgumentException(
            "tracking block size " + bytes + " bytes is invalid; use a power of two from 512 to 1048576");
      }
      this.trackingBlockSizeBytes = bytes;
      return this;
    }

    /**
     * The share of the disks' size that pending changes may reach before a resynchronization is
     * required: above 0, at most 1; 0.5 by default, as in Hyper-V.
     *
     * @throws IllegalArgumentException if out of range
     */
    public Builder resynchronizationThreshold(double share) {
      if (!(share > 0 && share <= 1)) {
        throw new IllegalArgumentException("resynchronization threshold " + share + " is out of range;"
            + " use a share of the disk size above 0 and at most 1 (Hyper-V: 0.5)");
      }
      this.resynchronizationThreshold = share;
      return this;
    }

    /**
     * When a required resynchronization starts by itself: within a daily window (18:30 to 06:00 UTC
     * by default, as in Hyper-V), or null for only when asked.
     */
    public Builder autoResynchronization(@Nullable ResynchronizationWindow window) {
      this.autoResynchronization = window;
      return this;
    }

    /**
     * Verifies the replica online by itself at this interval (at least
     * {@link ReplicationSettings#MIN_VERIFY_INTERVAL}), e.g. {@link ReplicationSettings#VERIFY_DAILY};
     * null (the default) for only when asked.
     *
     * @throws IllegalArgumentException if shorter than a minute
     */
    public Builder verifyInterval(@Nullable Duration interval) {
      if (interval != null && interval.compareTo(MIN_VERIFY_INTERVAL) < 0) {
        throw new IllegalArgumentException("verify interval " + interval + " is too short; use at least "
            + MIN_VERIFY_INTERVAL + ", e.g. a day, or null for only when asked");
      }
      this.verifyInterval = interval;
      return this;
    }

    /** The settings. */
    public ReplicationSettings build() {
      return new ReplicationSettings(this);
    }
  }
}
