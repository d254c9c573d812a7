/**
 * {@code replica host}: Replica run as a service on one host.
 *
 * <p>{@link io.replica.host.HostConfig} says what the host runs (read from JSON);
 * {@link io.replica.host.HostService} starts it: the engine over mutual TLS with VHDX storage, the
 * replica server role, and the machines' disks exported over NBD, tracked once a machine
 * replicates.
 */
@NullMarked
package io.replica.host;

import org.jspecify.annotations.NullMarked;
