/** Seeded generators of guest writes and workloads, plain Java usable from any test framework. */
@NullMarked
package io.replica.testkit.gen;

import org.jspecify.annotations.NullMarked;
