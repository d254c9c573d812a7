/** VHDX files as Replica disks: {@code VhdxDiskStore} implements the storage SPI. */
@NullMarked
package io.replica.storage.vhdx;

import org.jspecify.annotations.NullMarked;
