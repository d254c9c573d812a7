/**
 * Time seams: {@link io.replica.spi.time.Clock} and {@link io.replica.spi.time.Scheduler}. The
 * engine reads time and runs background work only through them, which is what lets the testkit's
 * manual clock replay any run exactly.
 */
@NullMarked
package io.replica.spi.time;

import org.jspecify.annotations.NullMarked;
