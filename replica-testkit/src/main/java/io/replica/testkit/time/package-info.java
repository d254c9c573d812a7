/** A manual clock and scheduler: time moves only when a test says so, and tasks run in a deterministic order. */
@NullMarked
package io.replica.testkit.time;

import org.jspecify.annotations.NullMarked;
