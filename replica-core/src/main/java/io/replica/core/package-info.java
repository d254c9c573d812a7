/**
 * The engine's entry point: {@link io.replica.core.ReplicaEngine#builder()} assembles a
 * {@link io.replica.api.ReplicationManager} from the SPIs an embedder provides.
 */
@NullMarked
package io.replica.core;

import org.jspecify.annotations.NullMarked;
