package io.replica.transport.netty;

import io.replica.api.event.ReplicationEvent;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches this host's certificate for its end: warns (log, listener and event) when it expires
 * within the warning window, once per loaded certificate and again after a renewal that is still
 * too short, and repeats the warning that still holds to each new event sink. A concern of its
 * own, apart from the connections of the transport that checks it.
 */
final class CertificateWatch {
  /** The transport's logger, so that the warning keeps the category operators filter on. */
  private static final Logger LOG = LoggerFactory.getLogger(NettyTransport.class);

  private final String hostName;
  private final @Nullable TlsSettings tls;
  private final Clock clock;
  private final Duration window;
  private final Consumer<CertificateExpiry> listener;
  private long warnedGeneration = -1;
  /** The warning that still holds, repeated to each new event sink; null while none does. */
  private ReplicationEvent.@Nullable CertificateExpiring expiring;
  private Consumer<? super ReplicationEvent> events = e -> { };
  private volatile boolean stopped;

  /**
   * A watch of the certificate of {@code tls}; with none, a watch that never warns.
   *
   * @param window how long before the end the warning starts
   * @param listener told of each warning besides the log and the event sink
   */
  CertificateWatch(String hostName, @Nullable TlsSettings tls, Clock clock, Duration window,
      Consumer<CertificateExpiry> listener) {
    this.hostName = hostName;
    this.tls = tls;
    this.clock = clock;
    this.window = window;
    this.listener = listener;
  }

  /** Checks the certificate loaded now (also one reloaded since the last check). */
  synchronized void check() {
    TlsSettings t = tls;
    if (t == null || stopped) {
      return;
    }
    io.replica.transport.netty.internal.tls.TlsMaterial m = t.source().get();
    X509Certificate cert = m.chain().get(0);
    Instant notAfter = cert.getNotAfter().toInstant();
    Instant now = clock.instant();
    Duration remaining = Duration.between(now, notAfter);
    if (remaining.compareTo(window) > 0) {
      expiring = null; // renewed: nothing left to repeat
      return;
    }
    if (warnedGeneration == m.generation()) {
      return;
    }
    warnedGeneration = m.generation();
    CertificateExpiry warning = new CertificateExpiry(hostName,
        cert.getSubjectX500Principal().getName(), notAfter, remaining);
    LOG.warn("{}", warning.describe());
    try {
      listener.accept(warning);
    } catch (RuntimeException e) {
      LOG.error("the certificate expiry listener threw", e);
    }
    ReplicationEvent.CertificateExpiring event = new ReplicationEvent.CertificateExpiring(now,
        hostName, warning.subject(), notAfter, remaining);
    expiring = event;
    report(event);
  }

  /** Sends events to {@code sink} from now on, starting with the warning that still holds. */
  synchronized void reportEventsTo(Consumer<? super ReplicationEvent> sink) {
    this.events = Objects.requireNonNull(sink, "events");
    ReplicationEvent.CertificateExpiring e = expiring;
    if (e != null) {
      report(e);
    }
  }

  /** Checks nothing more: the transport closed. */
  void stop() {
    stopped = true;
  }

  private void report(ReplicationEvent event) {
    try {
      events.accept(event);
    } catch (RuntimeException e) {
      LOG.error("the event sink threw on {}", event, e);
    }
  }
}
