/**
 * The replication protocol over TCP with Netty (frames in docs/protocol.md).
 *
 * <p>A tour: {@link io.replica.transport.netty.NettyTransport} is the
 * {@link io.replica.spi.transport.Transport} to give the engine, built with its builder.
 * Certificate authentication takes a {@link io.replica.transport.netty.TlsSettings} (this host's
 * certificate and key and the trusted roots, from PEM files that are watched for renewal, or
 * from memory); {@link io.replica.transport.netty.Certificates} makes a private CA, host
 * certificates and self-signed ones, and {@link io.replica.transport.netty.TlsCredentials} reads
 * and writes them as PEM or PKCS#12. Kerberos takes a
 * {@link io.replica.transport.netty.KerberosSettings} (host principal and keytab). A refused
 * connection fails with an {@link io.replica.transport.netty.AuthenticationException} that
 * carries the refusing side's reason, and a replica server tells each of its decisions on an
 * incoming connection as a {@link io.replica.transport.netty.ConnectionDecision};
 * {@link io.replica.transport.netty.CertificateExpiry} warns before this host's certificate runs
 * out, and {@link io.replica.transport.netty.TransportCounters} tells how many connections were
 * refused for the bound on unauthenticated ones or closed for a peer's protocol error.
 */
@NullMarked
package io.replica.transport.netty;

import org.jspecify.annotations.NullMarked;
