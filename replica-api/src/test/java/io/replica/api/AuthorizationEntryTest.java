package io.replica.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.lists;
import static org.quicktheories.generators.SourceDSL.strings;

import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.quicktheories.core.Gen;

class AuthorizationEntryTest {

  private static AuthorizationEntry entry(String pattern) {
    return new AuthorizationEntry(pattern, "/replicas", "group");
  }

  // ---- wildcard at the start

  @Test
  void leadingWildcardMatchesHostsOfTheDomain() {
    AuthorizationEntry e = entry("*.contoso.com");
    assertTrue(e.matches("hv1.contoso.com"));
    assertTrue(e.matches("a.contoso.com"));
    assertTrue(e.matches("hv1.site1.contoso.com"));
  }

  @ParameterizedTest
  @ValueSource(strings = {"contoso.com", "hv1.contoso.com.evil.org", "hv1contoso.com", "hv1.contoso.co",
      "hv1.contoso.org", "evilcontoso.com", "", "hv1.fabrikam.com"})
  void leadingWildcardRejectsOtherHosts(String host) {
    assertFalse(entry("*.contoso.com").matches(host), host);
  }

  // ---- wildcard in the middle

  @Test
  void middleWildcard() {
    AuthorizationEntry e = entry("hv*.contoso.com");
    assertTrue(e.matches("hv1.contoso.com"));
    assertTrue(e.matches("hv-west-12.contoso.com"));
    assertFalse(e.matches("web1.contoso.com"));
    assertFalse(e.matches("hv1.contoso.com.evil.org"));
    assertFalse(e.matches("xhv1.contoso.com"));
  }

  @Test
  void prefixAndSuffixMustNotOverlap() {
    // "ab*ba" needs at least "abba"; "aba" starts with "ab" and ends with "ba" but is too short
    AuthorizationEntry e = entry("ab*ba");
    assertFalse(e.matches("aba"));
    assertTrue(e.matches("abba"));
    assertTrue(e.matches("ab-x-ba"));
  }

  // ---- wildcard at the end

  @Test
  void trailingWildcard() {
    AuthorizationEntry e = entry("hv1.*");
    assertTrue(e.matches("hv1.contoso.com"));
    assertTrue(e.matches("hv1.fabrikam.com"));
    assertFalse(e.matches("hv2.contoso.com"));
    assertFalse(e.matches("xhv1.contoso.com"));
  }

  @Test
  void starAloneMatchesEveryone() {
    AuthorizationEntry e = entry("*");
    assertTrue(e.matches("hv1.contoso.com"));
    assertTrue(e.matches("HOST"));
  }

  // ---- exact names and case

  @Test
  void exactName() {
    AuthorizationEntry e = entry("hv1.contoso.com");
    assertTrue(e.matches("hv1.contoso.com"));
    assertFalse(e.matches("hv2.contoso.com"));
    assertFalse(e.matches("hv1.contoso.com.evil.org"));
    assertFalse(e.matches("x.hv1.contoso.com"));
    assertFalse(e.matches("hv1"));
  }

  @Test
  void caseInsensitive() {
    assertTrue(entry("HV1.Contoso.COM").matches("hv1.contoso.com"));
    assertTrue(entry("hv1.contoso.com").matches("HV1.CONTOSO.COM"));
    assertTrue(entry("*.CONTOSO.com").matches("Hv1.Contoso.Com"));
    assertTrue(entry("HV*.contoso.com").matches("hv7.CONTOSO.COM"));
  }

  @Test
  void patternIsStoredLowerCase() {
    AuthorizationEntry e = new AuthorizationEntry("*.Contoso.COM", "/Replicas", "Group");
    assertEquals("*.contoso.com", e.primaryServerPattern());
    // the other fields are kept as given
    assertEquals("/Replicas", e.storageLocation());
    assertEquals("Group", e.trustGroup());
  }

  // ---- construction rules

  @ParameterizedTest
  @ValueSource(strings = {"*.*.com", "**", "hv*.*", "*hv*", "*.contoso.*"})
  void twoWildcardsRejected(String pattern) {
    var e = assertThrows(IllegalArgumentException.class, () -> entry(pattern));
    assertTrue(e.getMessage().contains("'" + pattern + "'"), e.getMessage());
    assertTrue(e.getMessage().contains("one wildcard"), e.getMessage());
  }

  @Test
  void blankFieldsRejected() {
    assertThrows(IllegalArgumentException.class, () -> new AuthorizationEntry(" ", "/r", "g"));
    assertThrows(IllegalArgumentException.class, () -> new AuthorizationEntry("", "/r", "g"));
    var s = assertThrows(IllegalArgumentException.class, () -> new AuthorizationEntry("*.contoso.com", " ", "g"));
    assertTrue(s.getMessage().contains("*.contoso.com"), s.getMessage());
    assertThrows(IllegalArgumentException.class, () -> new AuthorizationEntry("*.contoso.com", "/r", ""));
  }

  @Test
  void nullsRejected() {
    assertThrows(NullPointerException.class, () -> new AuthorizationEntry(null, "/r", "g"));
    assertThrows(NullPointerException.class, () -> new AuthorizationEntry("h", null, "g"));
    assertThrows(NullPointerException.class, () -> new AuthorizationEntry("h", "/r", null));
  }

  // ---- properties

  /** A DNS label: letters, digits and inner hyphens, 1 to 20 characters. */
  private static Gen<String> labels() {
    Gen<String> body = strings().betweenCodePoints('0', 'z').ofLengthBetween(1, 20)
        .map(s -> s.replaceAll("[^A-Za-z0-9]", "-"))
        .map(s -> s.replaceAll("^-+|-+$", ""));
    return body.assuming(s -> !s.isEmpty());
  }

  private static Gen<String> domains() {
    return lists().of(labels()).ofSizeBetween(1, 4).map(l -> String.join(".", l));
  }

  @Test
  void leadingWildcardMatchesAnyLabelOfTheDomain() {
    qt().forAll(labels(), domains())
        .checkAssert((label, domain) -> {
          AuthorizationEntry e = entry("*." + domain);
          assertTrue(e.matches(label + "." + domain), label + "." + domain);
          assertTrue(e.matches((label + "." + domain).toUpperCase(Locale.ROOT)));
          assertFalse(e.matches(domain), domain);
          assertFalse(e.matches(label + "." + domain + ".evil.org"));
        });
  }

  @Test
  void exactPatternMatchesOnlyItselfIgnoringCase() {
    qt().forAll(domains(), domains())
        .checkAssert((a, b) -> {
          AuthorizationEntry e = entry(a);
          assertTrue(e.matches(a));
          assertTrue(e.matches(a.toUpperCase(Locale.ROOT)));
          assertEquals(a.equalsIgnoreCase(b), e.matches(b), a + " vs " + b);
        });
  }

  @Test
  void wildcardAnywhereMatchesWhatItWasCutFrom() {
    // replacing any substring of a host name by '*' gives a pattern that matches the host
    qt().forAll(domains(), integers().between(0, 1000), integers().between(0, 1000))
        .checkAssert((host, i, j) -> {
          int a = i % (host.length() + 1);
          int b = j % (host.length() + 1);
          int from = Math.min(a, b);
          int to = Math.max(a, b);
          String pattern = host.substring(0, from) + "*" + host.substring(to);
          assertTrue(entry(pattern).matches(host), pattern + " vs " + host);
        });
  }

  @Test
  void leadingWildcardNeverMatchesAnySuffixOfTheBareDomain() {
    // every suffix of "contoso.com" (including itself) is shorter than ".contoso.com"
    qt().forAll(domains(), integers().between(0, 1000))
        .checkAssert((domain, cut) -> {
          String host = domain.substring(cut % (domain.length() + 1));
          assertFalse(entry("*." + domain).matches(host), "*." + domain + " vs " + host);
        });
  }
}
