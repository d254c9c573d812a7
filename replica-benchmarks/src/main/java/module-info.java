/** JMH benchmarks and measuring programs; never deployed. */
module io.replica.benchmarks {
  requires io.replica.api;
  requires io.replica.core;
  requires io.replica.testkit;
  requires io.replica.storage.vhdx;
  requires io.replica.transport.netty;
  requires io.netty.buffer;
  requires io.netty.common;
  requires io.netty.transport;
  requires java.management;
  requires com.github.luben.zstd_jni;
  requires static org.jspecify;
  requires jmh.core;
}
