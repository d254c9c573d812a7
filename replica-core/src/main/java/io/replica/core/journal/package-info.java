/**
 * The replica's cycle journal: framed records (disk writes, then a commit) appended while a cycle
 * arrives, so a cycle is applied whole or not at all, even across a crash.
 */
@NullMarked
package io.replica.core.journal;

import org.jspecify.annotations.NullMarked;
