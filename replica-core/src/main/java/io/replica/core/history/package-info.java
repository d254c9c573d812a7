/**
 * Recovery history on the replica: undo logs that keep the old contents of blocks each cycle
 * overwrote, and read-only views of any kept recovery point built from them.
 */
@NullMarked
package io.replica.core.history;

import org.jspecify.annotations.NullMarked;
