package io.replica.transport.netty.internal.tls;

import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;

/**
 * One consistent view of this host's key, certificate chain and trusted roots. A reload makes a
 * new one with the next generation; a handshake uses one generation throughout.
 */
public record TlsMaterial(
    PrivateKey key, List<X509Certificate> chain, List<X509Certificate> trusted, long generation) {
  public TlsMaterial {
    chain = List.copyOf(chain);
    trusted = List.copyOf(trusted);
  }
}
