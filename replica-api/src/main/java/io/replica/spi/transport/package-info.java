/**
 * The transport SPI: a {@link io.replica.spi.transport.Transport} opens
 * {@link io.replica.spi.transport.Connection}s that carry the replication protocol's
 * {@link io.replica.spi.transport.Message}s. The engine owns the protocol; a transport owns the
 * bytes on the wire, authentication, encryption and compression.
 */
@NullMarked
package io.replica.spi.transport;

import org.jspecify.annotations.NullMarked;
