/**
 * The engine's host: {@link io.replica.core.host.Engine} is the {@link io.replica.api.ReplicationManager} façade, runs every
 * operation on one serial loop fed by the injected scheduler, emits events and holds the registry of relationships.
 */
@NullMarked
package io.replica.core.host;

import org.jspecify.annotations.NullMarked;
