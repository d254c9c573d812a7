/**
 * The engine's host: {@link io.replica.core.host.Engine} is the {@link io.replica.api.ReplicationManager}
 * façade; it takes one lock for every operation, emits events in order, and delegates to the roles.
 */
@NullMarked
package io.replica.core.host;

import org.jspecify.annotations.NullMarked;
