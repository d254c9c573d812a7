package io.replica.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ReplicaServerSettingsTest {

  private static final AuthorizationEntry HV_STAR =
      new AuthorizationEntry("hv*.contoso.com", "/replicas/hv", "hyperv");
  private static final AuthorizationEntry CONTOSO =
      new AuthorizationEntry("*.contoso.com", "/replicas/contoso", "contoso");
  private static final AuthorizationEntry FABRIKAM =
      new AuthorizationEntry("*.fabrikam.com", "/replicas/fabrikam", "fabrikam");

  private static ReplicaServerSettings.Builder anyServer() {
    return ReplicaServerSettings.builder().allowAnyAuthenticatedServer("/replicas");
  }

  // ---- builder rules

  @Test
  void defaults() {
    ReplicaServerSettings s = anyServer().build();
    assertTrue(s.enabled());
    assertEquals(Set.of(AuthenticationType.KERBEROS), s.allowedAuthenticationTypes());
    assertEquals(80, s.port(AuthenticationType.KERBEROS));
    assertEquals(443, s.port(AuthenticationType.CERTIFICATE));
    assertEquals(Duration.ofHours(12), s.monitoringInterval());
    assertTrue(s.allowsAnyAuthenticatedServer());
    assertEquals(Optional.of("/replicas"), s.defaultStorageLocation());
    assertEquals(List.of(), s.authorizationEntries());
  }

  @Test
  void enabledNeedsAnyServerOrEntries() {
    var e = assertThrows(IllegalStateException.class, () -> ReplicaServerSettings.builder().build());
    assertTrue(e.getMessage().contains("authorization entry"), e.getMessage());
    assertTrue(e.getMessage().contains("any authenticated server"), e.getMessage());
  }

  @Test
  void enabledWithEntriesOnly() {
    ReplicaServerSettings s =
        ReplicaServerSettings.builder().addAuthorizationEntry(CONTOSO).addAuthorizationEntry(FABRIKAM).build();
    assertFalse(s.allowsAnyAuthenticatedServer());
    assertEquals(Optional.empty(), s.defaultStorageLocation());
    assertEquals(List.of(CONTOSO, FABRIKAM), s.authorizationEntries());
  }

  @Test
  void anyServerAndEntriesRejectedTogether() {
    var e = assertThrows(IllegalStateException.class, () -> anyServer().addAuthorizationEntry(CONTOSO).build());
    assertTrue(e.getMessage().contains("choose one"), e.getMessage());
    // also when disabled: the combination is contradictory either way
    assertThrows(IllegalStateException.class,
        () -> anyServer().addAuthorizationEntry(CONTOSO).enabled(false).build());
  }

  @Test
  void disabledNeedsNothing() {
    ReplicaServerSettings s = ReplicaServerSettings.builder().enabled(false).build();
    assertFalse(s.enabled());
    assertFalse(ReplicaServerSettings.disabled().enabled());
    assertSame(ReplicaServerSettings.disabled(), ReplicaServerSettings.disabled());
  }

  @Test
  void blankOrNullStorageLocationRejected() {
    var e = assertThrows(IllegalArgumentException.class,
        () -> ReplicaServerSettings.builder().allowAnyAuthenticatedServer(" "));
    assertTrue(e.getMessage().contains("storage location"), e.getMessage());
    assertThrows(NullPointerException.class,
        () -> ReplicaServerSettings.builder().allowAnyAuthenticatedServer(null));
    assertThrows(NullPointerException.class, () -> ReplicaServerSettings.builder().addAuthorizationEntry(null));
  }

  @Test
  void authenticationTypes() {
    Set<AuthenticationType> both = EnumSet.allOf(AuthenticationType.class);
    assertEquals(both, anyServer().allowedAuthenticationTypes(both).build().allowedAuthenticationTypes());
    assertEquals(Set.of(AuthenticationType.CERTIFICATE),
        anyServer().allowedAuthenticationTypes(Set.of(AuthenticationType.CERTIFICATE)).build()
            .allowedAuthenticationTypes());
    var e = assertThrows(IllegalArgumentException.class,
        () -> ReplicaServerSettings.builder().allowedAuthenticationTypes(Set.of()));
    assertTrue(e.getMessage().contains("at least one authentication type"), e.getMessage());
  }

  @Test
  void authenticationTypesAreCopied() {
    Set<AuthenticationType> types = EnumSet.of(AuthenticationType.KERBEROS);
    ReplicaServerSettings s = anyServer().allowedAuthenticationTypes(types).build();
    types.add(AuthenticationType.CERTIFICATE);
    assertEquals(Set.of(AuthenticationType.KERBEROS), s.allowedAuthenticationTypes());
    assertThrows(UnsupportedOperationException.class,
        () -> s.allowedAuthenticationTypes().add(AuthenticationType.CERTIFICATE));
  }

  @Test
  void entriesAreCopied() {
    ReplicaServerSettings.Builder b = ReplicaServerSettings.builder().addAuthorizationEntry(CONTOSO);
    ReplicaServerSettings s = b.build();
    b.addAuthorizationEntry(FABRIKAM);
    assertEquals(List.of(CONTOSO), s.authorizationEntries());
    assertThrows(UnsupportedOperationException.class, () -> s.authorizationEntries().add(FABRIKAM));
  }

  // ---- ports

  @Test
  void portsAreSetPerType() {
    ReplicaServerSettings s = anyServer().kerberosPort(8080).certificatePort(8443).build();
    assertEquals(8080, s.port(AuthenticationType.KERBEROS));
    assertEquals(8443, s.port(AuthenticationType.CERTIFICATE));
    assertEquals(1, anyServer().kerberosPort(1).build().port(AuthenticationType.KERBEROS));
    assertEquals(65535, anyServer().certificatePort(65535).build().port(AuthenticationType.CERTIFICATE));
  }

  @ParameterizedTest
  @ValueSource(ints = {0, -1, 65536, Integer.MIN_VALUE})
  void portsOutOfRangeRejected(int port) {
    var k = assertThrows(IllegalArgumentException.class, () -> ReplicaServerSettings.builder().kerberosPort(port));
    assertTrue(k.getMessage().contains("Kerberos port " + port), k.getMessage());
    assertTrue(k.getMessage().contains("1-65535"), k.getMessage());
    var c = assertThrows(IllegalArgumentException.class, () -> ReplicaServerSettings.builder().certificatePort(port));
    assertTrue(c.getMessage().contains("certificate port " + port), c.getMessage());
  }

  @Test
  void portOfNullTypeRejected() {
    ReplicaServerSettings s = anyServer().build();
    assertThrows(NullPointerException.class, () -> s.port(null));
  }

  // ---- monitoring intervals

  @Test
  void everyHyperVMonitoringIntervalAccepted() {
    assertEquals(14, ReplicaServerSettings.MONITORING_INTERVALS.size());
    for (Duration d : ReplicaServerSettings.MONITORING_INTERVALS) {
      assertEquals(d, anyServer().monitoringInterval(d).build().monitoringInterval());
    }
    // an equal duration written another way is the same interval
    assertEquals(Duration.ofDays(1), anyServer().monitoringInterval(Duration.ofMinutes(24 * 60)).build()
        .monitoringInterval());
  }

  @Test
  void otherMonitoringIntervalsRejected() {
    for (Duration d : new Duration[] {
        Duration.ZERO, Duration.ofMinutes(30), Duration.ofHours(5), Duration.ofHours(7), Duration.ofHours(13),
        Duration.ofDays(8), Duration.ofHours(1).plusSeconds(1), Duration.ofHours(-1)}) {
      var e = assertThrows(IllegalArgumentException.class,
          () -> ReplicaServerSettings.builder().monitoringInterval(d), d.toString());
      assertTrue(e.getMessage().contains("monitoring interval " + d), e.getMessage());
      assertTrue(e.getMessage().contains("2 to 7 days"), e.getMessage());
    }
  }

  @Test
  void monitoringIntervalsListIsImmutable() {
    assertThrows(UnsupportedOperationException.class,
        () -> ReplicaServerSettings.MONITORING_INTERVALS.add(Duration.ofHours(5)));
  }

  // ---- authorize

  @Test
  void anyServerYieldsTheDefaultTrustGroupEntry() {
    ReplicaServerSettings s = anyServer().build();
    for (String host : List.of("hv1.contoso.com", "HOST", "x.fabrikam.com")) {
      AuthorizationEntry e = s.authorize(host).orElseThrow();
      assertEquals(ReplicaServerSettings.DEFAULT_TRUST_GROUP, e.trustGroup());
      assertEquals("DEFAULT", e.trustGroup());
      assertEquals("/replicas", e.storageLocation());
      assertTrue(e.matches(host));
    }
  }

  @Test
  void listEntriesMatchInOrder() {
    ReplicaServerSettings s = ReplicaServerSettings.builder()
        .addAuthorizationEntry(HV_STAR).addAuthorizationEntry(CONTOSO).addAuthorizationEntry(FABRIKAM).build();
    assertEquals(Optional.of(HV_STAR), s.authorize("hv1.contoso.com"));
    assertEquals(Optional.of(CONTOSO), s.authorize("web1.contoso.com"));
    assertEquals(Optional.of(FABRIKAM), s.authorize("HV1.Fabrikam.com"));
    assertEquals(Optional.empty(), s.authorize("hv1.evil.org"));
    assertEquals(Optional.empty(), s.authorize("contoso.com"));

    ReplicaServerSettings reversed = ReplicaServerSettings.builder()
        .addAuthorizationEntry(CONTOSO).addAuthorizationEntry(HV_STAR).build();
    assertEquals(Optional.of(CONTOSO), reversed.authorize("hv1.contoso.com"));
  }

  @Test
  void disabledAuthorizesNobody() {
    assertEquals(Optional.empty(), ReplicaServerSettings.disabled().authorize("hv1.contoso.com"));
    ReplicaServerSettings withEntries =
        ReplicaServerSettings.builder().addAuthorizationEntry(CONTOSO).enabled(false).build();
    assertEquals(Optional.empty(), withEntries.authorize("hv1.contoso.com"));
    ReplicaServerSettings anyButDisabled = anyServer().enabled(false).build();
    assertEquals(Optional.empty(), anyButDisabled.authorize("hv1.contoso.com"));
  }

  @Test
  void toStringShowsTheMode() {
    assertTrue(anyServer().build().toString().contains("anyServer into /replicas"));
    assertTrue(ReplicaServerSettings.builder().addAuthorizationEntry(CONTOSO).build().toString()
        .contains("*.contoso.com"));
  }

  @Test
  void builderReusable() {
    List<ReplicaServerSettings> built = new ArrayList<>();
    ReplicaServerSettings.Builder b = anyServer();
    built.add(b.build());
    built.add(b.kerberosPort(81).build());
    assertEquals(80, built.get(0).port(AuthenticationType.KERBEROS));
    assertEquals(81, built.get(1).port(AuthenticationType.KERBEROS));
  }
}
