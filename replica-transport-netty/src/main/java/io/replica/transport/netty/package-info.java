/** The Netty transport: {@code NettyTransport} carries the replication protocol between hosts. */
@NullMarked
package io.replica.transport.netty;

import org.jspecify.annotations.NullMarked;
