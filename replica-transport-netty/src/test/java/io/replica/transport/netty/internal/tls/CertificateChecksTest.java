package io.replica.transport.netty.internal.tls;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Host name matching as the replica server applies it: exact names, one leftmost wildcard. */
class CertificateChecksTest {

  @Test
  void exactNamesMatchCaseInsensitivelyAfterLowerCasing() {
    assertTrue(CertificateChecks.matches("hv1.contoso.com", "hv1.contoso.com"));
    assertFalse(CertificateChecks.matches("hv1.contoso.com", "hv2.contoso.com"));
    assertFalse(CertificateChecks.matches("hv1.contoso.com", "contoso.com"));
  }

  @Test
  void oneWildcardNamesExactlyOneLeftmostLabel() {
    assertTrue(CertificateChecks.matches("*.contoso.com", "hv1.contoso.com"));
    assertFalse(CertificateChecks.matches("*.contoso.com", "a.hv1.contoso.com"));
    assertFalse(CertificateChecks.matches("*.contoso.com", "contoso.com"));
    assertFalse(CertificateChecks.matches("*.contoso.com", ".contoso.com"));
    assertFalse(CertificateChecks.matches("*.com", "contoso.com"), "too broad a wildcard");
    assertFalse(CertificateChecks.matches("*.*.contoso.com", "a.b.contoso.com"),
        "two wildcards");
    assertFalse(CertificateChecks.matches("hv*.contoso.com", "hv1.contoso.com"),
        "a partial-label wildcard");
  }

  @Test
  void addressEntriesMatchAddresses() {
    assertTrue(CertificateChecks.matches("127.0.0.1", "127.0.0.1"));
    assertFalse(CertificateChecks.matches("127.0.0.1", "127.0.0.2"));
  }
}
