/**
 * The public vocabulary of Replica. Start at {@link io.replica.api.ReplicationManager} (one per
 * host, both roles), {@link io.replica.api.ReplicationSettings} (how a machine replicates) and
 * {@link io.replica.api.ReplicaServerSettings} (who may replicate here). States, health,
 * statistics, recovery points and {@link io.replica.api.VerificationResult}s (what an online verify of
 * the replica found) are value types; failures are {@link io.replica.api.ReplicaException}s.
 */
@NullMarked
package io.replica.api;

import org.jspecify.annotations.NullMarked;
