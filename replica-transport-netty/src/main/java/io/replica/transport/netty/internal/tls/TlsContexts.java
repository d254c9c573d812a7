package io.replica.transport.netty.internal.tls;

import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.util.function.Supplier;
import javax.net.ssl.SSLException;

/**
 * The TLS contexts of one transport, both sides over one reloading key manager, so that a renewed
 * certificate serves new connections in either direction. Peers are checked after the handshake
 * (a deferred trust manager), the same way on BoringSSL and on the JDK.
 *
 * @param server for accepted connections; asks for the client's certificate
 * @param client for connections this side opens
 * @param implementation the OpenSSL flavour Netty loaded (such as "BoringSSL"), or "JDK"
 * @param nativeTls whether the contexts run on BoringSSL, which reads native memory only
 */
public record TlsContexts(
    SslContext server, SslContext client, String implementation, boolean nativeTls) {

  /**
   * Contexts on BoringSSL when netty-tcnative loads and {@code jdkTls} is false, on the JDK's
   * TLS otherwise.
   *
   * @throws SSLException if a context cannot be built from the material
   */
  public static TlsContexts of(Supplier<TlsMaterial> source, boolean jdkTls)
      throws SSLException {
    SslProvider provider = !jdkTls && OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK;
    ReloadingKeyManager keys = new ReloadingKeyManager(source);
    SslContext server = SslContextBuilder.forServer(keys)
        .trustManager(new DeferredTrustManager())
        .clientAuth(ClientAuth.OPTIONAL)
        .protocols("TLSv1.3", "TLSv1.2")
        .sslProvider(provider)
        .build();
    SslContext client = SslContextBuilder.forClient()
        .keyManager(keys)
        .trustManager(new DeferredTrustManager())
        .endpointIdentificationAlgorithm(null)
        .protocols("TLSv1.3", "TLSv1.2")
        .sslProvider(provider)
        .build();
    boolean openSsl = provider == SslProvider.OPENSSL;
    return new TlsContexts(server, client, openSsl ? OpenSsl.versionString() : "JDK", openSsl);
  }
}
