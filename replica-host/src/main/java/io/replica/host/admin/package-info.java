/**
 * The management API of a replication host, which {@code replica vm} commands use:
 * {@link io.replica.host.admin.AdminServer} answers HTTP/1.1 with JSON on a Unix socket owned by
 * the host's admin group (and optionally on TCP with mutual TLS) over a
 * {@link io.replica.api.ReplicationManager} and a {@link io.replica.host.admin.MachineCatalog};
 * {@link io.replica.host.admin.AdminClient} is its blocking client. The resources are listed in
 * {@code docs/admin-api.md}.
 */
@NullMarked
package io.replica.host.admin;

import org.jspecify.annotations.NullMarked;
