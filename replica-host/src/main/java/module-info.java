/** The host service next to the engine: machines, their disks over NBD, and the engine that replicates them. */
module io.replica.host {
  requires transitive io.replica.api;
  requires transitive io.replica.transport.netty;
  requires io.replica.core;
  requires io.replica.storage.vhdx;
  requires com.fasterxml.jackson.databind;
  requires static org.jspecify;
  requires org.slf4j;
  requires io.netty.buffer;
  requires io.netty.codec;
  requires io.netty.common;
  requires io.netty.handler;
  requires io.netty.transport;

  exports io.replica.host;
  exports io.replica.host.nbd;
}
