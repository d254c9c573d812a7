/** VHDX disks (MS-VHDX version 1) behind the storage SPI. */
module io.replica.storage.vhdx {
  requires transitive io.replica.api;
  requires static org.jspecify;
  requires org.slf4j;

  exports io.replica.storage.vhdx;
}
