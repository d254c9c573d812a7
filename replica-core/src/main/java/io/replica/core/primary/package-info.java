/**
 * The primary role: the enable handshake, the cycle schedule and sender, resynchronization and the
 * link to a replica server that connections share.
 */
@NullMarked
package io.replica.core.primary;

import org.jspecify.annotations.NullMarked;
