/** The cluster SPI: {@link io.replica.spi.cluster.ClusterMembership}, used by the broker. */
@NullMarked
package io.replica.spi.cluster;

import org.jspecify.annotations.NullMarked;
