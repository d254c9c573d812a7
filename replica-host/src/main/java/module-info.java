/**
 * The host service next to the engine: an NBD server that exports tracked disks, and the
 * management API that {@code replica vm} commands use.
 */
module io.replica.host {
  requires transitive io.replica.api;
  requires transitive io.replica.transport.netty;
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

  exports io.replica.host.nbd;
  exports io.replica.host.admin;
}
