package io.replica.transport.netty;

import io.replica.transport.netty.internal.tls.TlsMaterial;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Objects;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This host's certificate and key and the roots it trusts, for mutual TLS. Built from files, it
 * watches them: a certificate renewed on disk is used from the next connection on, with no
 * restart (a replaced file that cannot be read is logged and the previous material kept).
 */
public final class TlsSettings {
  private static final Logger LOG = LoggerFactory.getLogger(TlsSettings.class);

  private final Supplier<TlsMaterial> source;
  private final String description;

  private TlsSettings(Supplier<TlsMaterial> source, String description) {
    this.source = source;
    this.description = description;
  }

  /**
   * Fixed material, e.g. made on the fly by {@link Certificates}.
   *
   * @param trusted the CA certificates (or self-signed host certificates) peers must chain to
   * @throws IllegalArgumentException if {@code trusted} is empty
   */
  public static TlsSettings of(TlsCredentials credentials, List<X509Certificate> trusted) {
    Objects.requireNonNull(credentials, "credentials");
    if (trusted.isEmpty()) {
      throw new IllegalArgumentException("no trusted certificate given; pass the CA certificate"
          + " that issued the peers' certificates");
    }
    TlsMaterial m = new TlsMaterial(credentials.privateKey(), credentials.chain(), trusted, 1);
    return new TlsSettings(() -> m, credentials.toString());
  }

  /**
   * Material from PEM files, reloaded when one of them changes.
   *
   * @throws IOException if a file cannot be read now
   */
  public static TlsSettings fromPemFiles(Path certificateFile, Path keyFile, Path trustFile)
      throws IOException {
    Watched w = new Watched(certificateFile, keyFile, trustFile);
    return new TlsSettings(w, "certificate " + certificateFile + ", key " + keyFile + ", trust "
        + trustFile);
  }

  Supplier<TlsMaterial> source() {
    return source;
  }

  /** This host's current certificate (after any reload). */
  public X509Certificate certificate() {
    return source.get().chain().get(0);
  }

  /**
   * A Netty server context for another TLS service of this host, such as the host service's NBD
   * server: it presents this host's certificate (the one of the moment: a renewal on disk is used
   * from the next handshake on) and requires a client certificate that chains to the trusted
   * certificates of the moment and is valid now. It checks neither host names nor extended key
   * usage; the replication transport makes those checks itself and does not use this.
   *
   * @throws javax.net.ssl.SSLException if no TLS implementation can be set up
   */
  public io.netty.handler.ssl.SslContext nettyServerContext() throws javax.net.ssl.SSLException {
    return io.netty.handler.ssl.SslContextBuilder
        .forServer(new io.replica.transport.netty.internal.tls.ReloadingKeyManager(source))
        .trustManager(new io.replica.transport.netty.internal.tls.ReloadingTrustManager(source))
        .clientAuth(io.netty.handler.ssl.ClientAuth.REQUIRE)
        .protocols("TLSv1.3", "TLSv1.2")
        .build();
  }

  @Override
  public String toString() {
    return "TlsSettings[" + description + "]";
  }

  /** Re-reads the files when their modification time or size changes. */
  private static final class Watched implements Supplier<TlsMaterial> {
    private final Path cert;
    private final Path key;
    private final Path trust;
    private volatile TlsMaterial current;
    private volatile String stamp;

    Watched(Path cert, Path key, Path trust) throws IOException {
      this.cert = cert;
      this.key = key;
      this.trust = trust;
      this.stamp = stamp();
      this.current = load(1);
    }

    private TlsMaterial load(long generation) throws IOException {
      TlsCredentials c = TlsCredentials.readPem(cert, key);
      return new TlsMaterial(c.privateKey(), c.chain(), TlsCredentials.readCertificatesPem(trust),
          generation);
    }

    private String stamp() throws IOException {
      StringBuilder s = new StringBuilder();
      for (Path p : List.of(cert, key, trust)) {
        java.nio.file.attribute.BasicFileAttributes a = Files.readAttributes(p,
            java.nio.file.attribute.BasicFileAttributes.class);
        FileTime t = a.lastModifiedTime();
        // The file key (inode) changes when a file is replaced by a rename, as renewals do.
        s.append(t.to(java.util.concurrent.TimeUnit.NANOSECONDS)).append('/').append(a.size())
            .append('/').append(a.fileKey()).append(';');
      }
      return s.toString();
    }

    @Override
    public TlsMaterial get() {
      String now;
      try {
        now = stamp();
      } catch (IOException e) {
        LOG.warn("cannot check the TLS files {}, {}, {} for changes ({}); keeping the loaded"
            + " certificate", cert, key, trust, e.toString());
        return current;
      }
      if (now.equals(stamp)) {
        return current;
      }
      synchronized (this) {
        if (!now.equals(stamp)) {
          try {
            TlsMaterial next = load(current.generation() + 1);
            current = next;
            LOG.info("reloaded the TLS certificate from {}: '{}', valid until {}", cert,
                next.chain().get(0).getSubjectX500Principal().getName(),
                next.chain().get(0).getNotAfter().toInstant());
          } catch (IOException | UncheckedIOException | IllegalArgumentException e) {
            LOG.warn("the TLS files {} / {} / {} changed but cannot be read ({}); keeping the"
                + " previous certificate until they can", cert, key, trust, e.getMessage());
          }
          stamp = now;
        }
      }
      return current;
    }
  }
}
