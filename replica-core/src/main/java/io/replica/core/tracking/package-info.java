/**
 * Change tracking on the primary: tracked disks record each guest write in the open generation's
 * block set, copy-before-write keeps frozen blocks for the cycle in flight, the activity log survives a crash.
 */
@NullMarked
package io.replica.core.tracking;

import org.jspecify.annotations.NullMarked;
