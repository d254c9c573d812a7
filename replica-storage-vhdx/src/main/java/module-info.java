/** VHDX disks (MS-VHDX version 1) behind the storage SPI. */
module io.replica.storage.vhdx {
  requires transitive io.replica.api;
  requires static org.jspecify;
  requires org.slf4j;
  // ExtendedOpenOption.DIRECT: DiskConverter writes raw targets unbuffered.
  requires jdk.unsupported;

  exports io.replica.storage.vhdx;
}
