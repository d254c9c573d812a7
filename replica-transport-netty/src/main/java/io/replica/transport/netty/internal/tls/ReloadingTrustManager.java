package io.replica.transport.netty.internal.tls;

import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.function.Supplier;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * Trusts the chains that lead to the trusted certificates of the current material (PKIX, validity
 * included), rebuilt when a reload made a new generation. For TLS services next to the
 * replication transport, which checks its peers itself after the handshake.
 */
public final class ReloadingTrustManager extends X509ExtendedTrustManager {
  private final Supplier<TlsMaterial> source;
  private volatile long generation = -1;
  private volatile X509ExtendedTrustManager delegate;

  public ReloadingTrustManager(Supplier<TlsMaterial> source) {
    this.source = source;
  }

  private X509ExtendedTrustManager current() throws CertificateException {
    TlsMaterial m = source.get();
    if (m.generation() != generation) {
      synchronized (this) {
        if (m.generation() != generation) {
          delegate = build(m);
          generation = m.generation();
        }
      }
    }
    return delegate;
  }

  private static X509ExtendedTrustManager build(TlsMaterial m) throws CertificateException {
    try {
      KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
      store.load(null, null);
      int i = 0;
      for (X509Certificate c : m.trusted()) {
        store.setCertificateEntry("trusted-" + i++, c);
      }
      TrustManagerFactory f = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      f.init(store);
      for (TrustManager t : f.getTrustManagers()) {
        if (t instanceof X509ExtendedTrustManager x) {
          return x;
        }
      }
      throw new CertificateException("no X.509 trust manager for the trusted certificates");
    } catch (GeneralSecurityException | java.io.IOException e) {
      throw new CertificateException("cannot use the trusted certificates: " + e.getMessage(), e);
    }
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    current().checkClientTrusted(chain, authType);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    current().checkClientTrusted(chain, authType, socket);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    current().checkClientTrusted(chain, authType, engine);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    current().checkServerTrusted(chain, authType);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    current().checkServerTrusted(chain, authType, socket);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    current().checkServerTrusted(chain, authType, engine);
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    return source.get().trusted().toArray(new X509Certificate[0]);
  }
}
