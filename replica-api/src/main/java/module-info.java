/** Replica's public API and SPIs. */
module io.replica.api {
  requires static transitive org.jspecify;

  exports io.replica.api;
  exports io.replica.api.event;
  exports io.replica.spi.storage;
  exports io.replica.spi.transport;
  exports io.replica.spi.time;
  exports io.replica.spi.consistency;
  exports io.replica.spi.cluster;
  exports io.replica.spi.host;
}
