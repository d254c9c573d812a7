/**
 * Events: a {@link io.replica.api.event.ReplicationListener} registered with the
 * {@link io.replica.api.ReplicationManager} receives every
 * {@link io.replica.api.event.ReplicationEvent}.
 */
@NullMarked
package io.replica.api.event;

import org.jspecify.annotations.NullMarked;
