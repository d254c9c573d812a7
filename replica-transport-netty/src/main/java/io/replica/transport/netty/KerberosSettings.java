package io.replica.transport.netty;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;

/**
 * This host's Kerberos identity for SASL/GSSAPI authentication: a host principal
 * ({@code host/fqdn@REALM}) whose keys are in a keytab, as Hyper-V Replica authenticates with the
 * computer account. The replica server accepts primaries of the realms listed here (its own by
 * default), only by their host principals ({@code host/fqdn@REALM}; see {@link #serviceName}),
 * and names a primary by the host part of its principal. Both sides authenticate each
 * other (mutual authentication); a security layer protects every frame when configured.
 */
public final class KerberosSettings {

  /** The SASL quality of protection: authentication only, plus integrity, plus confidentiality. */
  public enum Protection {
    /** Authentication only ("auth"): frames travel as they are. */
    AUTHENTICATION("auth"),
    /** Integrity ("auth-int"): every frame carries a Kerberos checksum. */
    INTEGRITY("auth-int"),
    /** Confidentiality ("auth-conf"): every frame is encrypted. */
    CONFIDENTIALITY("auth-conf");

    final String qop;

    Protection(String qop) {
      this.qop = qop;
    }
  }

  /** The service name of host principals, as MIT Kerberos and Active Directory name them. */
  public static final String DEFAULT_SERVICE = "host";

  private final Path keytab;
  private final String principal;
  private final Set<String> realms;
  private final Set<Protection> protections;
  private final String service;

  private KerberosSettings(Path keytab, String principal, Set<String> realms,
      Set<Protection> protections, String service) {
    this.keytab = keytab;
    this.principal = principal;
    this.realms = Set.copyOf(realms);
    this.protections = protections.isEmpty() ? EnumSet.of(Protection.AUTHENTICATION)
        : EnumSet.copyOf(protections);
    this.service = service;
  }

  /**
   * This host as {@code principal} (e.g. {@code host/hv1.contoso.com@CONTOSO.COM}) with the keys
   * in {@code keytab}; authentication only, primaries of the principal's realm accepted.
   *
   * @throws IllegalArgumentException if the principal is not {@code service/host@REALM} or the
   *     keytab is not a readable file
   */
  public static KerberosSettings fromKeytab(Path keytab, String principal) {
    Objects.requireNonNull(keytab, "keytab");
    Objects.requireNonNull(principal, "principal");
    if (!Files.isReadable(keytab)) {
      throw new IllegalArgumentException("keytab " + keytab + " is not a readable file (export"
          + " the host principal's keys into it, e.g. with ktpass or kadmin ktadd)");
    }
    int slash = principal.indexOf('/');
    int at = principal.lastIndexOf('@');
    if (slash <= 0 || at < slash + 2 || at == principal.length() - 1) {
      throw new IllegalArgumentException("Kerberos principal '" + principal + "' is not of the"
          + " form host/fqdn@REALM");
    }
    return new KerberosSettings(keytab, principal, Set.of(principal.substring(at + 1)),
        EnumSet.of(Protection.AUTHENTICATION), DEFAULT_SERVICE);
  }

  /**
   * The same, offering and accepting these protections (the strongest both sides allow wins).
   *
   * @throws IllegalArgumentException if {@code protections} is empty
   */
  public KerberosSettings protections(Set<Protection> protections) {
    if (protections.isEmpty()) {
      throw new IllegalArgumentException("give at least one protection, e.g. AUTHENTICATION");
    }
    return new KerberosSettings(keytab, principal, realms, protections, service);
  }

  /**
   * The same, accepting primaries of these realms (upper case) only.
   *
   * @throws IllegalArgumentException if {@code realms} is empty
   */
  public KerberosSettings acceptedRealms(Set<String> realms) {
    if (realms.isEmpty()) {
      throw new IllegalArgumentException("give at least one realm to accept primaries from");
    }
    Set<String> upper = new java.util.HashSet<>();
    realms.forEach(r -> upper.add(r.toUpperCase(Locale.ROOT)));
    return new KerberosSettings(keytab, principal, upper, protections, service);
  }

  /**
   * The same, with hosts identified by principals of {@code service} ({@code service/fqdn@REALM})
   * instead of {@code host}: for a realm whose host principals use another service name. Only
   * principals of this service name identify a primary; a user principal whose instance is a
   * host name ({@code alice/hv1.contoso.com}) or another service's principal is refused. The
   * primary also asks for a ticket to {@code service/<replica server>}.
   *
   * @throws IllegalArgumentException if {@code service} is blank or holds '/' or '@'
   */
  public KerberosSettings serviceName(String service) {
    Objects.requireNonNull(service, "service");
    if (service.isBlank() || service.contains("/") || service.contains("@")) {
      throw new IllegalArgumentException("Kerberos service name '" + service + "' must be one"
          + " non-blank name without '/' or '@', such as host");
    }
    return new KerberosSettings(keytab, principal, realms, protections, service);
  }

  /** The service name of host principals ({@code host} by default). */
  public String serviceName() {
    return service;
  }

  /** The keytab file. */
  public Path keytab() {
    return keytab;
  }

  /** This host's principal. */
  public String principal() {
    return principal;
  }

  /** The realms whose primaries a replica server accepts. */
  public Set<String> acceptedRealms() {
    return realms;
  }

  /** The protections offered and accepted. */
  public Set<Protection> protections() {
    return EnumSet.copyOf(protections);
  }

  /** The SASL QOP list, strongest first. */
  String qop() {
    StringBuilder s = new StringBuilder();
    for (Protection p : new Protection[] {Protection.CONFIDENTIALITY, Protection.INTEGRITY,
        Protection.AUTHENTICATION}) {
      if (protections.contains(p)) {
        s.append(s.length() == 0 ? "" : ",").append(p.qop);
      }
    }
    return s.toString();
  }

  @Override
  public String toString() {
    return "KerberosSettings[" + principal + ", keytab " + keytab + ", " + protections
        + ", hosts are " + service + "/fqdn]";
  }
}
