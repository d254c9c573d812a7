/**
 * The replica role: admission of a primary's machine, cycles received into the journal and applied,
 * recovery points, failovers and the state kept in the storage location.
 */
@NullMarked
package io.replica.core.replica;

import org.jspecify.annotations.NullMarked;
