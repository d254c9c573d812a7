/**
 * An NBD server for tracked disks, so unmodified QEMU and NBD tools read and write them.
 *
 * <p>{@link io.replica.host.nbd.NbdServer} is the entry type: build it with a Unix socket and/or
 * a TCP listener (optionally mutual TLS through NBD_OPT_STARTTLS), add
 * {@link io.replica.spi.storage.VirtualDisk}s as named exports, and remove them while it runs.
 *
 * <p>It speaks fixed newstyle negotiation only (EXPORT_NAME, ABORT, LIST, STARTTLS, INFO, GO,
 * STRUCTURED_REPLY, LIST/SET_META_CONTEXT for {@code base:allocation}) and the commands READ,
 * WRITE (with FUA), FLUSH, DISC, TRIM, WRITE_ZEROES, CACHE and BLOCK_STATUS. Every request must
 * be aligned to the disk's logical sector size, which the server advertises as the minimum block
 * size; an unaligned request is refused with EINVAL rather than emulated, because a
 * read-modify-write would have to be serialized against every other writer of the disk. READ
 * and WRITE carry at most 32 MiB. Replies on a connection leave in request order.
 */
@NullMarked
package io.replica.host.nbd;

import org.jspecify.annotations.NullMarked;
