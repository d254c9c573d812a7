package io.replica.spi.storage;

/**
 * One storage location of a replica server: the disks and the state documents of the replica
 * virtual machines stored there.
 */
public interface StorageLocation {

  /** The disks stored here. */
  DiskStore disks();

  /** The state documents and journals stored here. */
  StateStore state();
}
