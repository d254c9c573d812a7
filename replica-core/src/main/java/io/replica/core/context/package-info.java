/**
 * The narrow view of the engine its collaborators get: host name, clock, scheduler, the serial
 * loop and the event sink, so that no relationship reaches into the engine itself.
 */
@NullMarked
package io.replica.core.context;

import org.jspecify.annotations.NullMarked;
