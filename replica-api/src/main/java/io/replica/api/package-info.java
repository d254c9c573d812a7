/**
 * The public vocabulary of Replica. Start at {@link io.replica.api.ReplicationManager} (one per
 * host, both roles), {@link io.replica.api.ReplicationSettings} (how a machine replicates) and
 * {@link io.replica.api.ReplicaServerSettings} (who may replicate here). States, health,
 * statistics and recovery points are value types; failures are {@link io.replica.api.ReplicaException}s.
 */
@NullMarked
package io.replica.api;

import org.jspecify.annotations.NullMarked;
