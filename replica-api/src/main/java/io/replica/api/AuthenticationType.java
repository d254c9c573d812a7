package io.replica.api;

/** How a primary server proves its identity to a replica server. */
public enum AuthenticationType {
  /** Kerberos (SASL/GSSAPI) with the host principal; Hyper-V's default port is 80. */
  KERBEROS(80),
  /** Mutual TLS with host certificates; encrypts the traffic; Hyper-V's default port is 443. */
  CERTIFICATE(443);

  private final int defaultPort;

  AuthenticationType(int defaultPort) {
    this.defaultPort = defaultPort;
  }

  /** The port a replica server listens on for this type unless configured otherwise. */
  public int defaultPort() {
    return defaultPort;
  }
}
