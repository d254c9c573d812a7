package io.replica.api;

import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Whether and from whom this host accepts replica virtual machines (Hyper-V's
 * {@code Set-VMReplicationServer}): the authentication types and their ports, and either any
 * authenticated server into a default storage location, or an authorization list.
 *
 * <p>Immutable; build with {@link #builder()}. A host that was never given settings is not a
 * replica server: {@link #disabled()}.
 */
public final class ReplicaServerSettings {

  /** The trust group of servers admitted by "any authenticated server". */
  public static final String DEFAULT_TRUST_GROUP = "DEFAULT";

  /** The monitoring intervals Hyper-V offers; statistics and health look back this far. */
  public static final List<Duration> MONITORING_INTERVALS = List.of(
      Duration.ofHours(1), Duration.ofHours(2), Duration.ofHours(3), Duration.ofHours(4),
      Duration.ofHours(6), Duration.ofHours(8), Duration.ofHours(12), Duration.ofHours(24),
      Duration.ofDays(2), Duration.ofDays(3), Duration.ofDays(4), Duration.ofDays(5),
      Duration.ofDays(6), Duration.ofDays(7));

  private static final ReplicaServerSettings DISABLED = builder().enabled(false).build();

  private final boolean enabled;
  private final Set<AuthenticationType> allowedAuthenticationTypes;
  private final int kerberosPort;
  private final int certificatePort;
  private final @Nullable String defaultStorageLocation;
  private final List<AuthorizationEntry> authorizationEntries;
  private final Duration monitoringInterval;

  private ReplicaServerSettings(Builder b) {
    this.enabled = b.enabled;
    this.allowedAuthenticationTypes = Set.copyOf(b.allowedAuthenticationTypes);
    this.kerberosPort = b.kerberosPort;
    this.certificatePort = b.certificatePort;
    this.defaultStorageLocation = b.defaultStorageLocation;
    this.authorizationEntries = List.copyOf(b.authorizationEntries);
    this.monitoringInterval = b.monitoringInterval;
  }

  /** Settings of a host that accepts no replica. */
  public static ReplicaServerSettings disabled() {
    return DISABLED;
  }

  /** A builder: enabled, Kerberos on port 80, no one authorized yet. */
  public static Builder builder() {
    return new Builder();
  }

  /** Whether this host accepts replica virtual machines at all. */
  public boolean enabled() {
    return enabled;
  }

  /** The authentication types primaries may use. */
  public Set<AuthenticationType> allowedAuthenticationTypes() {
    return allowedAuthenticationTypes;
  }

  /** The port for the given authentication type. */
  public int port(AuthenticationType type) {
    Objects.requireNonNull(type, "type");
    return type == AuthenticationType.KERBEROS ? kerberosPort : certificatePort;
  }

  /** Whether any authenticated server may replicate here (into the default storage location). */
  public boolean allowsAnyAuthenticatedServer() {
    return defaultStorageLocation != null;
  }

  /** The storage location for any authenticated server, if that is allowed. */
  public Optional<String> defaultStorageLocation() {
    return Optional.ofNullable(defaultStorageLocation);
  }

  /** The authorization list, used when not any server is allowed. */
  public List<AuthorizationEntry> authorizationEntries() {
    return authorizationEntries;
  }

  /** How far back statistics and health look. */
  public Duration monitoringInterval() {
    return monitoringInterval;
  }

  /**
   * The entry that admits an authenticated primary, if any: the catch-all entry in the default
   * trust group when any server is allowed, else the first list entry whose pattern matches.
   */
  public Optional<AuthorizationEntry> authorize(String primaryHost) {
    if (!enabled) {
      return Optional.empty();
    }
    if (defaultStorageLocation != null) {
      return Optional.of(new AuthorizationEntry("*", defaultStorageLocation, DEFAULT_TRUST_GROUP));
    }
    return authorizationEntries.stream().filter(e -> e.matches(primaryHost)).findFirst();
  }

  @Override
  public String toString() {
    return "ReplicaServerSettings[enabled=" + enabled + ", authentication=" + allowedAuthenticationTypes
        + ", kerberosPort=" + kerberosPort + ", certificatePort=" + certificatePort
        + (defaultStorageLocation != null
            ? ", anyServer into " + defaultStorageLocation
            : ", entries=" + authorizationEntries)
        + ", monitoringInterval=" + monitoringInterval + "]";
  }

  /** Builds {@link ReplicaServerSettings}. */
  public static final class Builder {
    private boolean enabled = true;
    private Set<AuthenticationType> allowedAuthenticationTypes = EnumSet.of(AuthenticationType.KERBEROS);
    private int kerberosPort = AuthenticationType.KERBEROS.defaultPort();
    private int certificatePort = AuthenticationType.CERTIFICATE.defaultPort();
    private @Nullable String defaultStorageLocation;
    private final List<AuthorizationEntry> authorizationEntries = new ArrayList<>();
    private Duration monitoringInterval = Duration.ofHours(12);

    private Builder() {}

    /** Whether replication into this host is allowed; true by default. */
    public Builder enabled(boolean enabled) {
      this.enabled = enabled;
      return this;
    }

    /**
     * The authentication types primaries may use (Kerberos, Certificate, or both).
     *
     * @throws IllegalArgumentException if empty
     */
    public Builder allowedAuthenticationTypes(Set<AuthenticationType> types) {
      if (types.isEmpty()) {
        throw new IllegalArgumentException(
            "replica server needs at least one authentication type (KERBEROS, CERTIFICATE or both)");
      }
      this.allowedAuthenticationTypes = EnumSet.copyOf(types);
      return this;
    }

    /** The Kerberos port, 80 by default. */
    public Builder kerberosPort(int port) {
      this.kerberosPort = checkPort(port, "Kerberos");
      return this;
    }

    /** The certificate port, 443 by default. */
    public Builder certificatePort(int port) {
      this.certificatePort = checkPort(port, "certificate");
      return this;
    }

    /** Admits any authenticated server, storing its machines in {@code storageLocation}. */
    public Builder allowAnyAuthenticatedServer(String storageLocation) {
      Objects.requireNonNull(storageLocation, "storageLocation");
      if (storageLocation.isBlank()) {
        throw new IllegalArgumentException(
            "allowing any authenticated server needs a default storage location; it is blank");
      }
      this.defaultStorageLocation = storageLocation;
      return this;
    }

    /** Adds an authorization list entry (used when any server is not allowed). */
    public Builder addAuthorizationEntry(AuthorizationEntry entry) {
      authorizationEntries.add(Objects.requireNonNull(entry, "entry"));
      return this;
    }

    /**
     * How far back statistics and health look: one of {@link #MONITORING_INTERVALS}, 12 h by default.
     *
     * @throws IllegalArgumentException if not one of them
     */
    public Builder monitoringInterval(Duration interval) {
      if (!MONITORING_INTERVALS.contains(interval)) {
        throw new IllegalArgumentException(
            "monitoring interval " + interval + " is not offered; use 1, 2, 3, 4, 6, 8, 12 or 24"
                + " hours, or 2 to 7 days");
      }
      this.monitoringInterval = interval;
      return this;
    }

    /**
     * The settings.
     *
     * @throws IllegalStateException if enabled with neither "any server" nor an authorization entry,
     *     or with both
     */
    public ReplicaServerSettings build() {
      if (enabled && defaultStorageLocation == null && authorizationEntries.isEmpty()) {
        throw new IllegalStateException(
            "an enabled replica server must allow any authenticated server (with a default storage"
                + " location) or list at least one authorization entry");
      }
      if (defaultStorageLocation != null && !authorizationEntries.isEmpty()) {
        throw new IllegalStateException(
            "replica server allows any authenticated server and also lists authorization entries;"
                + " choose one");
      }
      return new ReplicaServerSettings(this);
    }

    private static int checkPort(int port, String what) {
      if (port < 1 || port > 65535) {
        throw new IllegalArgumentException(what + " port " + port + " is out of range 1-65535");
      }
      return port;
    }
  }
}
