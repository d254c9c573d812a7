/**
 * VHDX files (MS-VHDX version 1: fixed, dynamic and differencing) as Replica disks.
 *
 * <p>Entry points: {@link io.replica.storage.vhdx.VhdxDiskStore}, a folder of VHDX files behind
 * the storage SPI's {@code DiskStore}; {@link io.replica.storage.vhdx.VhdxDisk}, one file opened
 * or created by path; {@link io.replica.storage.vhdx.DirectoryStorageProvider} with {@link
 * io.replica.storage.vhdx.DirectoryStateStore}, a whole storage location in one folder; {@link
 * io.replica.storage.vhdx.VhdxCheck} for offline checks; {@link
 * io.replica.storage.vhdx.DiskConverter} to copy a disk between raw and VHDX files. Damaged files are refused with {@link
 * io.replica.storage.vhdx.CorruptDiskException}, which names the structure and its offset.
 */
@NullMarked
package io.replica.storage.vhdx;

import org.jspecify.annotations.NullMarked;
