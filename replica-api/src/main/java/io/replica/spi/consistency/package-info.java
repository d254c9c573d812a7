/** The consistency SPI: {@link io.replica.spi.consistency.ConsistencyProvider} quiesces a guest. */
@NullMarked
package io.replica.spi.consistency;

import org.jspecify.annotations.NullMarked;
