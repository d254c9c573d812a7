/** In-memory storage and transport: strict fakes that reject what real disks and sockets reject, with crash and fault injection. */
@NullMarked
package io.replica.testkit.memory;

import org.jspecify.annotations.NullMarked;
