/**
 * Seeded generators of guest writes and workloads, plain Java usable from any test framework.
 *
 * <p>{@link io.replica.testkit.gen.WorkloadGenerator} makes a reproducible sequence of
 * {@link io.replica.testkit.gen.GuestWrite}s over one or more disks in the shape of a
 * {@link io.replica.testkit.gen.Workload}; the same seed gives the same writes on every run.
 */
@NullMarked
package io.replica.testkit.gen;

import org.jspecify.annotations.NullMarked;
