package io.replica.transport.netty;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.Reader;
import java.io.StringWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.GeneralSecurityException;
import java.security.Key;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.openssl.PEMException;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;

/**
 * A private key with its certificate chain (leaf first): what a host presents in mutual TLS, or
 * what a private CA signs with. Reads and writes the two formats operators meet: PEM (openssl,
 * Linux) and PKCS#12 (Windows certificate stores, Java key stores).
 */
public final class TlsCredentials {
  private final PrivateKey privateKey;
  private final List<X509Certificate> chain;

  /**
   * @throws IllegalArgumentException if {@code chain} is empty
   */
  public TlsCredentials(PrivateKey privateKey, List<X509Certificate> chain) {
    this.privateKey = Objects.requireNonNull(privateKey, "privateKey");
    this.chain = List.copyOf(chain);
    if (this.chain.isEmpty()) {
      throw new IllegalArgumentException("a certificate chain needs at least the host's"
          + " certificate");
    }
  }

  /** The private key that matches {@link #certificate()}. */
  public PrivateKey privateKey() {
    return privateKey;
  }

  /** The chain, leaf first. */
  public List<X509Certificate> chain() {
    return chain;
  }

  /** The leaf certificate. */
  public X509Certificate certificate() {
    return chain.get(0);
  }

  /**
   * Writes the chain to {@code certificateFile} and the key, unencrypted PKCS#8, to
   * {@code keyFile} (owner-readable only where the file system allows), each replaced atomically
   * so that a transport reloading them never reads half a file.
   *
   * @throws IOException if a file cannot be written
   */
  public void writePem(Path certificateFile, Path keyFile) throws IOException {
    writeCertificatesPem(certificateFile, chain);
    StringWriter text = new StringWriter();
    try (JcaPEMWriter pem = new JcaPEMWriter(text)) {
      pem.writeObject(new org.bouncycastle.util.io.pem.PemObject("PRIVATE KEY", pkcs8().getEncoded()));
    }
    writeAtomically(keyFile, text.toString(), true);
  }

  /**
   * The key as PKCS#8; an EC key carries its public point too (the JDK leaves the optional field
   * out, and GnuTLS, so QEMU's TLS, refuses such a key file).
   */
  private PrivateKeyInfo pkcs8() throws IOException {
    PrivateKeyInfo info =
        PrivateKeyInfo.getInstance(privateKey.getEncoded());
    if (!(privateKey instanceof java.security.interfaces.ECPrivateKey ec)
        || !org.bouncycastle.asn1.x9.X9ObjectIdentifiers.id_ecPublicKey.equals(
            info.getPrivateKeyAlgorithm().getAlgorithm())) {
      return info;
    }
    org.bouncycastle.asn1.sec.ECPrivateKey inner =
        org.bouncycastle.asn1.sec.ECPrivateKey.getInstance(info.parsePrivateKey());
    if (inner.getPublicKey() != null) {
      return info;
    }
    org.bouncycastle.asn1.x509.SubjectPublicKeyInfo spki =
        org.bouncycastle.asn1.x509.SubjectPublicKeyInfo.getInstance(certificate().getPublicKey().getEncoded());
    return new PrivateKeyInfo(info.getPrivateKeyAlgorithm(),
        new org.bouncycastle.asn1.sec.ECPrivateKey(ec.getParams().getOrder().bitLength(), ec.getS(),
            spki.getPublicKeyData(), null));
  }

  /**
   * Writes certificates as PEM (a trust file, or a CA's certificate to hand to other hosts).
   *
   * @throws IOException if the file cannot be written
   */
  public static void writeCertificatesPem(Path file, List<X509Certificate> certificates)
      throws IOException {
    StringWriter text = new StringWriter();
    try (JcaPEMWriter pem = new JcaPEMWriter(text)) {
      for (X509Certificate c : certificates) {
        pem.writeObject(c);
      }
    }
    writeAtomically(file, text.toString(), false);
  }

  private static void writeAtomically(Path file, String text, boolean secret) throws IOException {
    Path dir = file.toAbsolutePath().getParent();
    Path tmp = Files.createTempFile(dir, file.getFileName().toString(), ".tmp");
    try {
      if (secret) {
        try {
          Files.setPosixFilePermissions(tmp,
              java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        } catch (UnsupportedOperationException e) {
          // Not a POSIX file system: the directory's permissions apply.
        }
      }
      try (Writer w = Files.newBufferedWriter(tmp, StandardCharsets.US_ASCII)) {
        w.write(text);
      }
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  /**
   * Reads the certificates of a PEM file (a trust file or a chain), in file order.
   *
   * @throws IOException if the file cannot be read or holds no certificate
   */
  public static List<X509Certificate> readCertificatesPem(Path file) throws IOException {
    List<X509Certificate> out = new ArrayList<>();
    try (InputStream in = Files.newInputStream(file)) {
      CertificateFactory f = CertificateFactory.getInstance("X.509");
      for (Certificate c : f.generateCertificates(in)) {
        out.add((X509Certificate) c);
      }
    } catch (CertificateException e) {
      throw new IOException("cannot read certificates from " + file + ": " + e.getMessage()
          + " (expected PEM blocks 'BEGIN CERTIFICATE')", e);
    }
    if (out.isEmpty()) {
      throw new IOException("no certificate in " + file + " (expected PEM blocks 'BEGIN"
          + " CERTIFICATE')");
    }
    return out;
  }

  /**
   * Reads a chain from {@code certificateFile} and its unencrypted key (PKCS#8 "PRIVATE KEY", or
   * the traditional "RSA/EC PRIVATE KEY") from {@code keyFile}.
   *
   * @throws IOException if a file cannot be read or parsed, or the key is encrypted
   */
  public static TlsCredentials readPem(Path certificateFile, Path keyFile) throws IOException {
    List<X509Certificate> chain = readCertificatesPem(certificateFile);
    Object parsed;
    try (Reader r = Files.newBufferedReader(keyFile, StandardCharsets.US_ASCII);
        PEMParser pem = new PEMParser(r)) {
      parsed = pem.readObject();
    }
    PrivateKey key;
    try {
      JcaPEMKeyConverter convert = new JcaPEMKeyConverter();
      if (parsed instanceof PEMKeyPair) {
        key = convert.getKeyPair((PEMKeyPair) parsed).getPrivate();
      } else if (parsed instanceof PrivateKeyInfo) {
        key = convert.getPrivateKey((PrivateKeyInfo) parsed);
      } else {
        throw new IOException("no unencrypted private key in " + keyFile + " (found "
            + (parsed == null ? "nothing" : parsed.getClass().getSimpleName())
            + "; decrypt it first, e.g. openssl pkey -in KEY -out KEY.pem)");
      }
    } catch (PEMException e) {
      throw new IOException("cannot read the private key in " + keyFile + ": " + e.getMessage(),
          e);
    }
    return new TlsCredentials(key, chain);
  }

  /**
   * Writes key and chain as a PKCS#12 file protected by {@code password}.
   *
   * @throws IOException if the file cannot be written
   */
  public void writePkcs12(Path file, char[] password) throws IOException {
    try {
      KeyStore store = KeyStore.getInstance("PKCS12");
      store.load(null, null);
      store.setKeyEntry("replica", privateKey, password, chain.toArray(new X509Certificate[0]));
      try (OutputStream out = Files.newOutputStream(file)) {
        store.store(out, password);
      }
    } catch (GeneralSecurityException e) {
      throw new IOException("cannot write PKCS#12 file " + file + ": " + e.getMessage(), e);
    }
  }

  /**
   * Reads the first key entry of a PKCS#12 file.
   *
   * @throws IOException if the file cannot be read, the password is wrong, or it holds no key
   */
  public static TlsCredentials readPkcs12(Path file, char[] password) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      KeyStore store = KeyStore.getInstance("PKCS12");
      store.load(in, password);
      for (String alias : Collections.list(store.aliases())) {
        if (store.isKeyEntry(alias)) {
          Key key = store.getKey(alias, password);
          List<X509Certificate> chain = new ArrayList<>();
          for (Certificate c : store.getCertificateChain(alias)) {
            chain.add((X509Certificate) c);
          }
          return new TlsCredentials((PrivateKey) key, chain);
        }
      }
      throw new IOException("PKCS#12 file " + file + " holds no private key entry");
    } catch (GeneralSecurityException e) {
      throw new IOException("cannot read PKCS#12 file " + file + ": " + e.getMessage()
          + " (check the password)", e);
    }
  }

  @Override
  public String toString() {
    return "TlsCredentials[" + certificate().getSubjectX500Principal().getName() + ", expires "
        + certificate().getNotAfter().toInstant() + "]";
  }
}
