/**
 * The host service next to the engine: the machines of a host with their disks over NBD, the
 * engine that replicates them, and the management API that {@code replica vm} commands use.
 */
module io.replica.host {
  requires transitive io.replica.api;
  requires transitive io.replica.transport.netty;
  requires io.replica.core;
  requires io.replica.storage.vhdx;
  requires static org.jspecify;
  requires org.slf4j;
  requires jdk.net;
  requires transitive com.fasterxml.jackson.databind;
  requires io.netty.codec.http;
  requires io.netty.buffer;
  requires io.netty.codec;
  requires io.netty.common;
  requires io.netty.handler;
  requires io.netty.transport;

  exports io.replica.host;
  exports io.replica.host.nbd;
  exports io.replica.host.admin;
}
