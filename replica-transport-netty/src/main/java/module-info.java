/** The replication protocol on Netty: TLS, Kerberos, compression, flow control. */
module io.replica.transport.netty {
  requires transitive io.replica.api;
  requires static org.jspecify;
  requires org.slf4j;
  requires io.netty.buffer;
  requires io.netty.codec;
  requires io.netty.common;
  requires io.netty.handler;
  requires io.netty.transport;
  requires org.bouncycastle.provider;
  requires org.bouncycastle.pkix;
  requires com.github.luben.zstd_jni;
  requires java.security.sasl;
  requires java.security.jgss;
  requires jdk.security.auth;

  exports io.replica.transport.netty;
}
