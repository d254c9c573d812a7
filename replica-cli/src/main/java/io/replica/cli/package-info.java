/** The {@code replica} command: {@link io.replica.cli.Main} and its subcommands. */
@NullMarked
package io.replica.cli;

import org.jspecify.annotations.NullMarked;
