package io.replica.transport.netty;

import io.replica.api.AuthenticationType;
import io.replica.spi.transport.ConnectOptions;
import java.time.Duration;
import java.util.List;

/** Transports for the contract tests: plain and mutual TLS on loopback. */
final class ContractTransports {
  private ContractTransports() {}

  static NettyTransport plain(String host) {
    return NettyTransport.builder().hostName(host).plaintext().workerThreads(2).build();
  }

  /** Mutual TLS on BoringSSL, which the tests have on the class path. */
  static NettyTransport tls(String host) {
    return tls(NettyTransport.builder(), host);
  }

  /** Mutual TLS on the JDK's implementation. */
  static NettyTransport tlsOnJdk(String host) {
    return tls(NettyTransport.builder().jdkTls(), host);
  }

  private static NettyTransport tls(NettyTransport.Builder builder, String host) {
    return builder.hostName(host).workerThreads(2)
        .tls(TlsSettings.of(
            Certificates.issue(NettyTransportTest.CA, List.of(host, "localhost"),
                Duration.ofDays(1)),
            List.of(NettyTransportTest.CA.certificate())))
        .build();
  }

  static ConnectOptions compressed() {
    return new ConnectOptions(AuthenticationType.CERTIFICATE, true);
  }
}
