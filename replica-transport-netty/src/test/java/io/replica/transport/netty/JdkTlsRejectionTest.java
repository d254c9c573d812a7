package io.replica.transport.netty;

/** {@link TlsRejectionTest} on the JDK's TLS: the same certificates, the same reasons. */
class JdkTlsRejectionTest extends TlsRejectionTest {
  @Override
  NettyTransport.Builder builder() {
    return super.builder().jdkTls();
  }
}
