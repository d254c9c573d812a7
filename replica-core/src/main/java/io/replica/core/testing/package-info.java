/**
 * Mutations the simulation switches on to prove that its invariants catch real bugs; never set in
 * production, reachable only by the testkit.
 */
@NullMarked
package io.replica.core.testing;

import org.jspecify.annotations.NullMarked;
