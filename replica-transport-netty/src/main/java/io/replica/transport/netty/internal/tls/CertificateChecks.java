package io.replica.transport.netty.internal.tls;

import io.replica.transport.netty.internal.handler.PeerAuthenticator.Rejection;
import java.net.InetAddress;
import java.security.GeneralSecurityException;
import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.CertificateParsingException;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Date;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x500.style.IETFUtils;

/**
 * The checks a peer's certificate must pass, as Hyper-V Replica asks of its certificates: it
 * chains to a trusted root, it is within its validity, it carries both the clientAuth and the
 * serverAuth extended key usage, and it names the host (SAN DNS, or the CN when there is no SAN
 * DNS name; one leading wildcard label allowed). Each failure says which check failed and what to
 * do, because that is what operators of certificate-based replication miss most.
 */
public final class CertificateChecks {

  static final String SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
  static final String CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";

  private CertificateChecks() {}

  /**
   * Checks validity, trust and key usage of {@code chain} (leaf first).
   *
   * @param whose "the primary's" or "the replica server's", for messages
   * @throws Rejection naming the failed check
   */
  public static void check(
      List<X509Certificate> chain, Collection<X509Certificate> trusted, Date now, String whose)
      throws Rejection {
    if (chain.isEmpty()) {
      throw new Rejection(whose + " certificate is missing (configure a certificate and key)");
    }
    X509Certificate leaf = chain.get(0);
    String subject = leaf.getSubjectX500Principal().getName();
    try {
      leaf.checkValidity(now);
    } catch (CertificateExpiredException e) {
      throw new Rejection(whose + " certificate '" + subject + "' expired on "
          + leaf.getNotAfter().toInstant() + " (issue a new one)");
    } catch (CertificateNotYetValidException e) {
      throw new Rejection(whose + " certificate '" + subject + "' is not valid before "
          + leaf.getNotBefore().toInstant() + " (check both clocks)");
    }
    checkTrust(chain, trusted, now, whose, subject);
    List<String> usages;
    try {
      usages = leaf.getExtendedKeyUsage();
    } catch (CertificateParsingException e) {
      throw new Rejection(whose + " certificate '" + subject + "' has an unreadable extended"
          + " key usage extension");
    }
    if (usages == null) {
      throw new Rejection("certificate has no extended key usage extension: " + whose
          + " certificate '" + subject + "' needs both clientAuth and serverAuth");
    }
    if (!usages.contains(CLIENT_AUTH)) {
      throw new Rejection("certificate has no clientAuth extended key usage: " + whose
          + " certificate '" + subject + "' needs both clientAuth and serverAuth (issue one"
          + " with both)");
    }
    if (!usages.contains(SERVER_AUTH)) {
      throw new Rejection("certificate has no serverAuth extended key usage: " + whose
          + " certificate '" + subject + "' needs both clientAuth and serverAuth (issue one"
          + " with both)");
    }
  }

  private static void checkTrust(
      List<X509Certificate> chain, Collection<X509Certificate> trusted, Date now, String whose,
      String subject) throws Rejection {
    if (trusted.isEmpty()) {
      throw new Rejection("this host trusts no certificate authority (configure a trust file)");
    }
    if (trusted.contains(chain.get(0))) {
      return; // a self-signed certificate trusted as such
    }
    List<X509Certificate> path = new ArrayList<>();
    for (X509Certificate c : chain) {
      if (trusted.contains(c)) {
        break;
      }
      path.add(c);
    }
    Set<TrustAnchor> anchors = new HashSet<>();
    for (X509Certificate root : trusted) {
      anchors.add(new TrustAnchor(root, null));
    }
    try {
      PKIXParameters params = new PKIXParameters(anchors);
      params.setRevocationEnabled(false);
      params.setDate(now);
      CertPathValidator.getInstance("PKIX")
          .validate(CertificateFactory.getInstance("X.509").generateCertPath(path), params);
    } catch (CertPathValidatorException e) {
      throw new Rejection(whose + " certificate '" + subject + "' (issued by '"
          + chain.get(0).getIssuerX500Principal().getName() + "') does not chain to a trusted"
          + " root: " + e.getMessage() + " (add its CA certificate to the trust file)");
    } catch (GeneralSecurityException e) {
      throw new Rejection("cannot check " + whose + " certificate '" + subject + "': " + e);
    }
  }

  /** The DNS names of {@code cert}: its SAN DNS entries, or its CN when it has none. */
  public static List<String> names(X509Certificate cert) {
    List<String> names = new ArrayList<>();
    try {
      Collection<List<?>> sans = cert.getSubjectAlternativeNames();
      if (sans != null) {
        for (List<?> san : sans) {
          if (((Integer) san.get(0)) == 2 || ((Integer) san.get(0)) == 7) {
            names.add(((String) san.get(1)).toLowerCase(Locale.ROOT));
          }
        }
      }
    } catch (CertificateParsingException e) {
      return names;
    }
    boolean anyDns = false;
    try {
      Collection<List<?>> sans = cert.getSubjectAlternativeNames();
      anyDns = sans != null && sans.stream().anyMatch(s -> ((Integer) s.get(0)) == 2);
    } catch (CertificateParsingException e) {
      anyDns = false;
    }
    if (!anyDns) {
      String cn = commonName(cert);
      if (cn != null) {
        names.add(cn.toLowerCase(Locale.ROOT));
      }
    }
    return names;
  }

  static String commonName(X509Certificate cert) {
    try {
      X500Name dn = X500Name.getInstance(cert.getSubjectX500Principal().getEncoded());
      for (RDN rdn : dn.getRDNs(BCStyle.CN)) {
        return IETFUtils.valueToString(rdn.getFirst().getValue());
      }
    } catch (IllegalArgumentException e) {
      return null;
    }
    return null;
  }

  /** Whether {@code cert} names {@code host}. */
  public static boolean names(X509Certificate cert, String host) {
    String h = host.toLowerCase(Locale.ROOT);
    if (h.endsWith(".")) {
      h = h.substring(0, h.length() - 1);
    }
    for (String name : names(cert)) {
      if (matches(name, h)) {
        return true;
      }
    }
    return false;
  }

  /** Host name match with at most one wildcard, as the whole leftmost label. */
  static boolean matches(String pattern, String host) {
    if (!pattern.startsWith("*.")) {
      if (pattern.equals(host)) {
        return true;
      }
      // An IP SAN entry against an address literal.
      return isAddress(pattern) && isAddress(host) && sameAddress(pattern, host);
    }
    String suffix = pattern.substring(1); // ".contoso.com"
    if (suffix.indexOf('*') >= 0 || suffix.chars().filter(c -> c == '.').count() < 2) {
      return false; // a second wildcard, or "*.com"
    }
    if (!host.endsWith(suffix)) {
      return false;
    }
    String first = host.substring(0, host.length() - suffix.length());
    return !first.isEmpty() && first.indexOf('.') < 0;
  }

  private static boolean isAddress(String s) {
    return s.indexOf(':') >= 0 || s.matches("[0-9.]+");
  }

  private static boolean sameAddress(String a, String b) {
    try {
      return InetAddress.getByName(a).equals(InetAddress.getByName(b));
    } catch (java.net.UnknownHostException e) {
      return false;
    }
  }
}
