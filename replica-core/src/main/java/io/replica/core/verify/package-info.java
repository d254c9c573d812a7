/**
 * How the two sides prove they hold the same data: verification over the link, the block hashes
 * resynchronization compares, and the checksum each cycle's content carries end to end.
 */
@NullMarked
package io.replica.core.verify;

import org.jspecify.annotations.NullMarked;
