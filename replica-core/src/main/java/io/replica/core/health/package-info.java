/**
 * Statistics and health rules shared by both roles: what Measure-VMReplication reports and when
 * replication turns Warning or Critical.
 */
@NullMarked
package io.replica.core.health;

import org.jspecify.annotations.NullMarked;
