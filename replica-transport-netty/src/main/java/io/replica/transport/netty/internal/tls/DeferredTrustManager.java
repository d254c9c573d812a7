package io.replica.transport.netty.internal.tls;

import java.net.Socket;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Lets the TLS handshake finish whatever certificate the peer shows; {@link TlsAuthenticator}
 * then checks it before a single frame is read or written. The handshake still proves that the
 * peer holds the certificate's private key. Deciding after the handshake lets the refusing side
 * tell the other side why, over the encrypted channel, instead of a bare TLS alert that names no
 * reason.
 */
public final class DeferredTrustManager extends X509ExtendedTrustManager {

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) {}

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) {}

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {}

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {}

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType) {}

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType) {}

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    // Empty, so that a peer sends its certificate even when its CA is not ours: we then reject it
    // with "untrusted CA" rather than see no certificate at all.
    return new X509Certificate[0];
  }
}
