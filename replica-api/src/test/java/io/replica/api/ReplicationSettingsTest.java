package io.replica.api;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ReplicationSettingsTest {

  private static final DiskId DISK_A = DiskId.of(new UUID(0, 1));
  private static final DiskId DISK_B = DiskId.of(new UUID(0, 2));

  private static ReplicationSettings.Builder builder() {
    return ReplicationSettings.builder("hv2.contoso.com");
  }

  /** Settings with every field away from its default. */
  private static ReplicationSettings everythingSet() {
    return builder()
        .authenticationType(AuthenticationType.CERTIFICATE)
        .replicaServerPort(8443)
        .compressionEnabled(true)
        .replicatedDisks(Set.of(DISK_A, DISK_B))
        .replicationFrequency(ReplicationSettings.FREQUENCY_30_SECONDS)
        .recoveryHistory(new RecoveryHistory(4, Duration.ofHours(2), 2))
        .initialReplicationByExport("E:\\export")
        .initialReplicationStartTime(Instant.parse("2030-01-02T03:04:05Z"))
        .trackingBlockSizeBytes(65536)
        .build();
  }

  // ---- defaults

  @Test
  void defaults() {
    ReplicationSettings s = builder().build();
    assertAll(
        () -> assertEquals("hv2.contoso.com", s.replicaServer()),
        () -> assertEquals(AuthenticationType.KERBEROS, s.authenticationType()),
        () -> assertEquals(80, s.replicaServerPort()),
        () -> assertFalse(s.compressionEnabled()),
        () -> assertEquals(Set.of(), s.replicatedDisks()),
        () -> assertEquals(Duration.ofMinutes(5), s.replicationFrequency()),
        () -> assertEquals(RecoveryHistory.latestOnly(), s.recoveryHistory()),
        () -> assertTrue(s.recoveryHistory().isLatestOnly()),
        () -> assertEquals(InitialReplicationMethod.NETWORK, s.initialReplicationMethod()),
        () -> assertEquals(Optional.empty(), s.initialReplicationExportLocation()),
        () -> assertEquals(Optional.empty(), s.initialReplicationStartTime()),
        () -> assertEquals(4096, s.trackingBlockSizeBytes()),
        () -> assertEquals(ReplicationSettings.DEFAULT_TRACKING_BLOCK_SIZE_BYTES, s.trackingBlockSizeBytes()));
  }

  @Test
  void portDefaultsToTheAuthenticationTypesPort() {
    assertEquals(80, builder().authenticationType(AuthenticationType.KERBEROS).build().replicaServerPort());
    assertEquals(443, builder().authenticationType(AuthenticationType.CERTIFICATE).build().replicaServerPort());
    assertEquals(443, builder().authenticationType(AuthenticationType.CERTIFICATE).replicaServerPort(0)
        .build().replicaServerPort());
    // the default is resolved at build time, whatever the order of the calls
    assertEquals(443, builder().replicaServerPort(0).authenticationType(AuthenticationType.CERTIFICATE)
        .build().replicaServerPort());
  }

  @Test
  void explicitPortIsKept() {
    assertEquals(8080, builder().replicaServerPort(8080).build().replicaServerPort());
    assertEquals(80, builder().authenticationType(AuthenticationType.CERTIFICATE).replicaServerPort(80)
        .build().replicaServerPort());
  }

  // ---- validation

  @ParameterizedTest
  @ValueSource(ints = {0, 1, 80, 443, 65535})
  void portsInRangeAccepted(int port) {
    builder().replicaServerPort(port).build();
  }

  @ParameterizedTest
  @ValueSource(ints = {-1, 65536, Integer.MIN_VALUE, Integer.MAX_VALUE})
  void portsOutOfRangeRejected(int port) {
    var e = assertThrows(IllegalArgumentException.class, () -> builder().replicaServerPort(port));
    assertTrue(e.getMessage().contains("port " + port), e.getMessage());
    assertTrue(e.getMessage().contains("1-65535"), e.getMessage());
  }

  @ParameterizedTest
  @ValueSource(strings = {"", " ", "\t\n"})
  void blankServerRejected(String server) {
    var e = assertThrows(IllegalArgumentException.class, () -> ReplicationSettings.builder(server));
    assertTrue(e.getMessage().contains("replica server"), e.getMessage());
  }

  @Test
  void nullsRejected() {
    assertThrows(NullPointerException.class, () -> ReplicationSettings.builder(null));
    assertThrows(NullPointerException.class, () -> builder().authenticationType(null));
    assertThrows(NullPointerException.class, () -> builder().replicationFrequency(null));
    assertThrows(NullPointerException.class, () -> builder().recoveryHistory(null));
    assertThrows(NullPointerException.class, () -> builder().initialReplicationByExport(null));
    assertThrows(NullPointerException.class, () -> builder().replicatedDisks(null));
  }

  @ParameterizedTest
  @ValueSource(longs = {999, 500, 1, 0, -1000, -60_000})
  void frequencyUnderOneSecondRejected(long millis) {
    Duration tooShort = Duration.ofMillis(millis);
    var e = assertThrows(IllegalArgumentException.class, () -> builder().replicationFrequency(tooShort));
    String m = e.getMessage();
    assertTrue(m.contains("replication frequency"), "names the setting: " + m);
    assertTrue(m.contains(tooShort.toString()), "names the value: " + m);
    assertTrue(m.contains("1 second or more"), "says what is allowed: " + m);
  }

  @Test
  void frequencyJustUnderOneSecondRejected() {
    assertThrows(IllegalArgumentException.class,
        () -> builder().replicationFrequency(Duration.ofSeconds(1).minusNanos(1)));
  }

  @Test
  void frequencyOfOneSecondAndPresetsAccepted() {
    for (Duration d : new Duration[] {
        ReplicationSettings.MIN_FREQUENCY, Duration.ofSeconds(1), Duration.ofSeconds(1).plusNanos(1),
        ReplicationSettings.FREQUENCY_30_SECONDS, ReplicationSettings.FREQUENCY_5_MINUTES,
        ReplicationSettings.FREQUENCY_15_MINUTES, Duration.ofHours(6)}) {
      assertEquals(d, builder().replicationFrequency(d).build().replicationFrequency());
    }
    assertEquals(Duration.ofSeconds(30), ReplicationSettings.FREQUENCY_30_SECONDS);
    assertEquals(Duration.ofMinutes(15), ReplicationSettings.FREQUENCY_15_MINUTES);
  }

  @ParameterizedTest
  @ValueSource(ints = {512, 1024, 4096, 65536, 1 << 20})
  void trackingBlockSizesAccepted(int bytes) {
    assertEquals(bytes, builder().trackingBlockSizeBytes(bytes).build().trackingBlockSizeBytes());
  }

  @ParameterizedTest
  @ValueSource(ints = {0, -512, 256, 511, 513, 1000, 4095, 4097, 3 * 1024, (1 << 20) + 1, 1 << 21,
      Integer.MIN_VALUE, Integer.MAX_VALUE})
  void trackingBlockSizesRejected(int bytes) {
    var e = assertThrows(IllegalArgumentException.class, () -> builder().trackingBlockSizeBytes(bytes));
    assertTrue(e.getMessage().contains("tracking block size " + bytes), e.getMessage());
    assertTrue(e.getMessage().contains("power of two"), e.getMessage());
  }

  @ParameterizedTest
  @ValueSource(strings = {"", " ", "\t"})
  void blankExportFolderRejected(String folder) {
    var e = assertThrows(IllegalArgumentException.class, () -> builder().initialReplicationByExport(folder));
    assertTrue(e.getMessage().contains("export folder"), e.getMessage());
  }

  @Test
  void rejectedValueLeavesBuilderUnchanged() {
    ReplicationSettings.Builder b = builder().replicaServerPort(8080).trackingBlockSizeBytes(8192);
    assertThrows(IllegalArgumentException.class, () -> b.replicaServerPort(70000));
    assertThrows(IllegalArgumentException.class, () -> b.trackingBlockSizeBytes(1000));
    assertThrows(IllegalArgumentException.class, () -> b.replicationFrequency(Duration.ZERO));
    ReplicationSettings s = b.build();
    assertEquals(8080, s.replicaServerPort());
    assertEquals(8192, s.trackingBlockSizeBytes());
    assertEquals(ReplicationSettings.FREQUENCY_5_MINUTES, s.replicationFrequency());
  }

  // ---- initial replication method

  @Test
  void initialReplicationMethods() {
    ReplicationSettings export = builder().initialReplicationByExport("/media/usb").build();
    assertEquals(InitialReplicationMethod.EXPORT_TO_MEDIA, export.initialReplicationMethod());
    assertEquals(Optional.of("/media/usb"), export.initialReplicationExportLocation());

    ReplicationSettings existing =
        builder().initialReplicationByExport("/media/usb").initialReplicationFromExistingCopy().build();
    assertEquals(InitialReplicationMethod.EXISTING_COPY, existing.initialReplicationMethod());
    assertEquals(Optional.empty(), existing.initialReplicationExportLocation());

    ReplicationSettings network =
        builder().initialReplicationByExport("/media/usb").initialReplicationOverNetwork().build();
    assertEquals(InitialReplicationMethod.NETWORK, network.initialReplicationMethod());
    assertEquals(Optional.empty(), network.initialReplicationExportLocation());
  }

  @Test
  void startTimeCanBeClearedAgain() {
    Instant at = Instant.parse("2030-01-01T00:00:00Z");
    assertEquals(Optional.of(at), builder().initialReplicationStartTime(at).build().initialReplicationStartTime());
    assertEquals(Optional.empty(),
        builder().initialReplicationStartTime(at).initialReplicationStartTime(null).build()
            .initialReplicationStartTime());
  }

  // ---- immutability

  @Test
  void replicatedDisksAreCopiedAndImmutable() {
    var disks = new java.util.HashSet<>(Set.of(DISK_A));
    ReplicationSettings s = builder().replicatedDisks(disks).build();
    disks.add(DISK_B);
    assertEquals(Set.of(DISK_A), s.replicatedDisks());
    assertThrows(UnsupportedOperationException.class, () -> s.replicatedDisks().add(DISK_B));
  }

  @Test
  void builderCanBeReusedWithoutAffectingBuiltSettings() {
    ReplicationSettings.Builder b = builder();
    ReplicationSettings first = b.build();
    b.compressionEnabled(true).replicaServerPort(9000);
    assertFalse(first.compressionEnabled());
    assertEquals(80, first.replicaServerPort());
  }

  // ---- toBuilder

  @Test
  void toBuilderRoundTripOfDefaults() {
    ReplicationSettings s = builder().build();
    assertEquals(s, s.toBuilder().build());
    assertEquals(s.hashCode(), s.toBuilder().build().hashCode());
  }

  @Test
  void toBuilderRoundTripOfEverythingSet() {
    ReplicationSettings s = everythingSet();
    ReplicationSettings copy = s.toBuilder().build();
    assertEquals(s, copy);
    assertEquals(s.hashCode(), copy.hashCode());
    assertEquals(s.toString(), copy.toString());
    assertEquals(Optional.of("E:\\export"), copy.initialReplicationExportLocation());
  }

  @Test
  void toBuilderRoundTripOfEachInitialReplicationMethod() {
    for (ReplicationSettings s : new ReplicationSettings[] {
        builder().initialReplicationOverNetwork().build(),
        builder().initialReplicationFromExistingCopy().build(),
        builder().initialReplicationByExport("x").build()}) {
      assertEquals(s, s.toBuilder().build(), s.toString());
    }
  }

  @Test
  void toBuilderThenChange() {
    ReplicationSettings s = everythingSet();
    ReplicationSettings changed = s.toBuilder().compressionEnabled(false).build();
    assertNotEquals(s, changed);
    assertFalse(changed.compressionEnabled());
    assertEquals(s.replicaServerPort(), changed.replicaServerPort());
    assertEquals(s.recoveryHistory(), changed.recoveryHistory());
  }

  @Test
  void toBuilderKeepsDefaultPortFollowingTheAuthenticationType() {
    // a port that was left to default follows a later change of authentication type
    ReplicationSettings kerberos = builder().build();
    assertEquals(443, kerberos.toBuilder().authenticationType(AuthenticationType.CERTIFICATE).build()
        .replicaServerPort());
    ReplicationSettings cert = builder().authenticationType(AuthenticationType.CERTIFICATE).build();
    assertEquals(80, cert.toBuilder().authenticationType(AuthenticationType.KERBEROS).build()
        .replicaServerPort());
    // a port that was set keeps its value
    ReplicationSettings custom = builder().replicaServerPort(8080).build();
    assertEquals(8080, custom.toBuilder().authenticationType(AuthenticationType.CERTIFICATE).build()
        .replicaServerPort());
  }

  // ---- equals / hashCode

  @Test
  void equalsAndHashCode() {
    ReplicationSettings a = everythingSet();
    ReplicationSettings b = everythingSet();
    assertEquals(a, a);
    assertEquals(a, b);
    assertEquals(b, a);
    assertEquals(a.hashCode(), b.hashCode());
    assertNotEquals(a, null);
    assertNotEquals(a, "not settings");
  }

  @Test
  void explicitDefaultPortEqualsLeftDefault() {
    ReplicationSettings implicit = builder().build();
    ReplicationSettings explicit = builder().replicaServerPort(80).build();
    assertEquals(implicit, explicit);
    assertEquals(implicit.hashCode(), explicit.hashCode());
  }

  @Test
  void eachFieldTakesPartInEquals() {
    ReplicationSettings base = everythingSet();
    ReplicationSettings[] variants = {
        ReplicationSettings.builder("hv3.contoso.com")
            .authenticationType(AuthenticationType.CERTIFICATE).replicaServerPort(8443)
            .compressionEnabled(true).replicatedDisks(Set.of(DISK_A, DISK_B))
            .replicationFrequency(ReplicationSettings.FREQUENCY_30_SECONDS)
            .recoveryHistory(new RecoveryHistory(4, Duration.ofHours(2), 2))
            .initialReplicationByExport("E:\\export")
            .initialReplicationStartTime(Instant.parse("2030-01-02T03:04:05Z"))
            .trackingBlockSizeBytes(65536).build(),
        base.toBuilder().replicaServerPort(8444).build(),
        base.toBuilder().authenticationType(AuthenticationType.KERBEROS).build(),
        base.toBuilder().compressionEnabled(false).build(),
        base.toBuilder().replicatedDisks(Set.of(DISK_A)).build(),
        base.toBuilder().replicationFrequency(ReplicationSettings.FREQUENCY_5_MINUTES).build(),
        base.toBuilder().recoveryHistory(new RecoveryHistory(4, Duration.ofHours(2), 1)).build(),
        base.toBuilder().initialReplicationFromExistingCopy().build(),
        base.toBuilder().initialReplicationByExport("F:\\export").build(),
        base.toBuilder().initialReplicationStartTime(null).build(),
        base.toBuilder().trackingBlockSizeBytes(4096).build(),
    };
    for (ReplicationSettings v : variants) {
      assertNotEquals(base, v, v.toString());
      assertNotEquals(v, base, v.toString());
    }
  }

  @Test
  void toStringNamesServerAndPort() {
    String s = builder().build().toString();
    assertTrue(s.contains("hv2.contoso.com:80"), s);
    assertTrue(s.contains("disks=all"), s);
  }

  @Test
  void builderReturnsItselfForChaining() {
    ReplicationSettings.Builder b = builder();
    assertSame(b, b.replicaServerPort(1));
    assertSame(b, b.compressionEnabled(true));
    assertSame(b, b.trackingBlockSizeBytes(512));
  }
}
