package io.replica.transport.netty;

import java.time.Duration;
import java.time.Instant;

/**
 * A warning that this host's certificate expires soon: after that instant every peer refuses
 * it, and replication stops until the certificate is renewed (replace the files; the transport
 * picks them up without a restart).
 *
 * @param hostName the host the transport runs for
 * @param subject the certificate's subject
 * @param notAfter when it expires
 * @param remaining how long until then, at the check (negative once expired)
 */
public record CertificateExpiry(String hostName, String subject, Instant notAfter,
    Duration remaining) {

  /** One line for a log or an alert. */
  public String describe() {
    return remaining.isNegative()
        ? "the certificate '" + subject + "' of " + hostName + " expired on " + notAfter
            + "; peers refuse it: renew it now"
        : "the certificate '" + subject + "' of " + hostName + " expires on " + notAfter + ", in "
            + (remaining.toDays() >= 2 ? remaining.toDays() + " days" : remaining.toHours() + " hours")
            + "; renew it before then (replace the certificate and"
            + " key files; no restart needed)";
  }
}
