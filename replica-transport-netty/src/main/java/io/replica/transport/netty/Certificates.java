package io.replica.transport.netty;

import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Makes the certificates that certificate-based replication needs, so that an operator without a
 * PKI can start: a private CA, host certificates it issues, and self-signed host certificates.
 * Host certificates carry what the replica server checks: both clientAuth and serverAuth
 * extended key usage (a host is primary for some machines and replica for others) and the host's
 * DNS name as SAN and CN. Keys are EC P-256. Write them with {@link TlsCredentials#writePem} or
 * {@link TlsCredentials#writePkcs12}.
 */
public final class Certificates {

  private static final SecureRandom RANDOM = new SecureRandom();

  private Certificates() {}

  /**
   * A new private CA, to issue host certificates and to be trusted by every host.
   *
   * @param name the CA's common name, e.g. "Contoso Replica CA"
   * @param validity how long the CA certificate is valid from now
   * @throws IllegalArgumentException if {@code validity} is not positive
   */
  public static TlsCredentials newCa(String name, Duration validity) {
    Objects.requireNonNull(name, "name");
    Instant now = Instant.now();
    return make(null, name, List.of(), now.minusSeconds(60), now.plus(positive(validity)), true,
        true, true);
  }

  /**
   * A host certificate for {@code host} signed by {@code ca}; its chain ends with the CA's.
   *
   * @param host the host's fully qualified DNS name (a leading "*." label makes a wildcard)
   * @throws IllegalArgumentException if {@code host} is blank or {@code validity} not positive
   */
  public static TlsCredentials issue(TlsCredentials ca, String host, Duration validity) {
    Objects.requireNonNull(ca, "ca");
    Instant now = Instant.now();
    return make(ca, host(host), List.of(host(host)), now.minusSeconds(60),
        now.plus(positive(validity)), true, true, false);
  }

  /**
   * A host certificate for several names of one host (the first is also the CN), e.g. its FQDN
   * and "localhost" for a demo on loopback.
   *
   * @throws IllegalArgumentException if {@code hostNames} is empty or a name blank
   */
  public static TlsCredentials issue(TlsCredentials ca, List<String> hostNames, Duration validity) {
    Objects.requireNonNull(ca, "ca");
    if (hostNames.isEmpty()) {
      throw new IllegalArgumentException("no host name given for the certificate");
    }
    List<String> names = hostNames.stream().map(Certificates::host).collect(
        java.util.stream.Collectors.toList());
    Instant now = Instant.now();
    return make(ca, names.get(0), names, now.minusSeconds(60), now.plus(positive(validity)),
        true, true, false);
  }

  /**
   * A self-signed certificate for {@code host}; every peer must trust this very certificate.
   *
   * @throws IllegalArgumentException if {@code host} is blank or {@code validity} not positive
   */
  public static TlsCredentials selfSigned(String host, Duration validity) {
    Instant now = Instant.now();
    return make(null, host(host), List.of(host(host)), now.minusSeconds(60),
        now.plus(positive(validity)), true, true, false);
  }

  /**
   * The host names a certificate carries, as the replica server matches them: its SAN DNS
   * entries, or its CN when it has none; lower case.
   */
  public static List<String> hostNames(X509Certificate certificate) {
    return io.replica.transport.netty.internal.tls.CertificateChecks.names(
        Objects.requireNonNull(certificate, "certificate"));
  }

  private static String host(String host) {
    Objects.requireNonNull(host, "host");
    if (host.isBlank()) {
      throw new IllegalArgumentException("host name is blank; give the host's fully qualified"
          + " DNS name");
    }
    return host.toLowerCase(Locale.ROOT);
  }

  private static Duration positive(Duration validity) {
    if (validity.isNegative() || validity.isZero()) {
      throw new IllegalArgumentException("certificate validity " + validity + " is not"
          + " positive");
    }
    return validity;
  }

  /**
   * The general form, also for tests that need a flawed certificate.
   *
   * @param issuer the CA that signs, or null for self-signed
   * @param commonName the subject CN
   * @param dnsNames SAN DNS entries (may be empty)
   */
  static TlsCredentials make(
      TlsCredentials issuer, String commonName, List<String> dnsNames, Instant notBefore,
      Instant notAfter, boolean clientAuth, boolean serverAuth, boolean ca) {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
      KeyPair keys = g.generateKeyPair();
      X500Name subject = new X500NameBuilder(BCStyle.INSTANCE)
          .addRDN(BCStyle.CN, commonName).build();
      X500Name issuerName = issuer == null ? subject
          : X500Name.getInstance(issuer.certificate().getSubjectX500Principal().getEncoded());
      X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(
          issuerName, new BigInteger(120, RANDOM).add(BigInteger.ONE), Date.from(notBefore),
          Date.from(notAfter), subject, keys.getPublic());
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      b.addExtension(Extension.subjectKeyIdentifier, false,
          ext.createSubjectKeyIdentifier(keys.getPublic()));
      if (issuer != null) {
        b.addExtension(Extension.authorityKeyIdentifier, false,
            ext.createAuthorityKeyIdentifier(issuer.certificate()));
      }
      if (ca) {
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
        b.addExtension(Extension.keyUsage, true,
            new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      } else {
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
        b.addExtension(Extension.keyUsage, true,
            new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyAgreement));
        List<KeyPurposeId> purposes = new ArrayList<>();
        if (serverAuth) {
          purposes.add(KeyPurposeId.id_kp_serverAuth);
        }
        if (clientAuth) {
          purposes.add(KeyPurposeId.id_kp_clientAuth);
        }
        if (!purposes.isEmpty()) {
          b.addExtension(Extension.extendedKeyUsage, false,
              new ExtendedKeyUsage(purposes.toArray(new KeyPurposeId[0])));
        }
        if (!dnsNames.isEmpty()) {
          GeneralName[] names = dnsNames.stream()
              .map(n -> new GeneralName(GeneralName.dNSName, n)).toArray(GeneralName[]::new);
          b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names));
        }
      }
      java.security.PrivateKey signer = issuer == null ? keys.getPrivate() : issuer.privateKey();
      String algorithm = signer.getAlgorithm().equals("RSA") ? "SHA256withRSA"
          : "SHA256withECDSA";
      X509Certificate cert = new JcaX509CertificateConverter()
          .getCertificate(b.build(new JcaContentSignerBuilder(algorithm).build(signer)));
      List<X509Certificate> chain = new ArrayList<>();
      chain.add(cert);
      if (issuer != null) {
        chain.addAll(issuer.chain());
      }
      return new TlsCredentials(keys.getPrivate(), chain);
    } catch (GeneralSecurityException | OperatorCreationException | CertIOException e) {
      throw new IllegalStateException("cannot make a certificate for '" + commonName + "': " + e,
          e);
    }
  }
}
