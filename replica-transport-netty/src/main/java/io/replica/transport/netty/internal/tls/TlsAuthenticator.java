package io.replica.transport.netty.internal.tls;

import io.netty.channel.Channel;
import io.netty.handler.ssl.SslHandler;
import io.replica.spi.transport.Endpoint;
import io.replica.transport.netty.internal.handler.PeerAuthenticator;
import io.replica.transport.netty.internal.handler.SaslSession;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.function.Supplier;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import org.jspecify.annotations.Nullable;

/**
 * Mutual TLS: after the handshake, the peer's chain must pass {@link CertificateChecks}; the
 * replica server's certificate must name the host the primary connected to, and the primary's
 * certificate the host its hello claims, which becomes its identity.
 */
public final class TlsAuthenticator implements PeerAuthenticator {
  private final Supplier<TlsMaterial> source;
  private final Supplier<Date> now;

  public TlsAuthenticator(Supplier<TlsMaterial> source, Supplier<Date> now) {
    this.source = source;
    this.now = now;
  }

  @Override
  public boolean tls() {
    return true;
  }

  private static List<X509Certificate> peerChain(Channel channel, boolean client)
      throws Rejection {
    SSLSession session = channel.pipeline().get(SslHandler.class).engine().getSession();
    Certificate[] certs;
    try {
      certs = session.getPeerCertificates();
    } catch (SSLPeerUnverifiedException e) {
      certs = null;
    }
    if (certs == null || certs.length == 0) {
      throw new Rejection(client
          ? "the replica server presented no certificate"
          : "no client certificate: the primary presented none (configure its certificate and"
              + " key)");
    }
    List<X509Certificate> chain = new ArrayList<>();
    for (Certificate c : certs) {
      chain.add((X509Certificate) c);
    }
    return chain;
  }

  @Override
  public void checkChannel(Channel channel, boolean client, Endpoint remote) throws Rejection {
    List<X509Certificate> chain = peerChain(channel, client);
    CertificateChecks.check(chain, source.get().trusted(), now.get(),
        client ? "the replica server's" : "the primary's");
    if (client && !CertificateChecks.names(chain.get(0), remote.host())) {
      throw new Rejection("certificate of the replica server names "
          + CertificateChecks.names(chain.get(0)) + ", not '" + remote.host() + "' that this host"
          + " connected to (connect by a name the certificate carries, or issue one for it)");
    }
  }

  @Override
  public String identity(Channel channel, boolean client, Endpoint remote, String claimedHost,
      @Nullable SaslSession sasl) throws Rejection {
    X509Certificate leaf = peerChain(channel, client).get(0);
    if (client) {
      // The server's certificate names the host we connected to (checked before); if it also
      // names the host its hello claims, that is its identity (a server reached by an alias).
      return CertificateChecks.names(leaf, claimedHost) ? claimedHost : remote.host();
    }
    if (!CertificateChecks.names(leaf, claimedHost)) {
      throw new Rejection("certificate of the primary names " + CertificateChecks.names(leaf)
          + ", not the host '" + claimedHost + "' it claims to be (issue a certificate for that"
          + " host name)");
    }
    return claimedHost;
  }
}
