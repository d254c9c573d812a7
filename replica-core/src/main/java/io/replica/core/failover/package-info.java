/**
 * Failover on the replica: the writable disk of a failed-over or test machine, over a recovery
 * point, whose writes are tracked so replication can be reversed.
 */
@NullMarked
package io.replica.core.failover;

import org.jspecify.annotations.NullMarked;
