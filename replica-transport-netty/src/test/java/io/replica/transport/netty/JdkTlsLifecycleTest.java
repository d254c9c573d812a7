package io.replica.transport.netty;

/** {@link TlsLifecycleTest} with the JDK's TLS: expiry warnings and renewal without restart. */
class JdkTlsLifecycleTest extends TlsLifecycleTest {
  @Override
  NettyTransport.Builder builder() {
    return super.builder().jdkTls();
  }
}
