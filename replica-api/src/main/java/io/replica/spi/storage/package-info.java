/**
 * The storage SPI: {@link io.replica.spi.storage.VirtualDisk} for a disk's bytes,
 * {@link io.replica.spi.storage.DiskStore} for disks by name,
 * {@link io.replica.spi.storage.StateStore} for the documents and journals beside them, and
 * {@link io.replica.spi.storage.StorageProvider} to map a replica server's storage locations onto
 * them.
 */
@NullMarked
package io.replica.spi.storage;

import org.jspecify.annotations.NullMarked;
