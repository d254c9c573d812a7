/** The host SPI: {@link io.replica.spi.host.VirtualMachineHost}, the embedder's hypervisor. */
@NullMarked
package io.replica.spi.host;

import org.jspecify.annotations.NullMarked;
