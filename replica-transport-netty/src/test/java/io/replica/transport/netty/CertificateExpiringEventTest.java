package io.replica.transport.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replica.api.ReplicationManager;
import io.replica.api.event.ReplicationEvent;
import io.replica.core.ReplicaEngine;
import io.replica.testkit.time.ManualClock;
import io.replica.testkit.time.ManualScheduler;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A certificate inside its expiry warning window reaches the engine's listeners as a {@link
 * ReplicationEvent.CertificateExpiring}, although the transport notices it when it starts, before
 * any engine or listener exists; every listener gets it once, also one added later.
 */
class CertificateExpiringEventTest {
  /** Whole seconds, as a certificate stores its dates. */
  private static final Instant NOW = Instant.now().truncatedTo(ChronoUnit.SECONDS);

  private final List<AutoCloseable> open = new ArrayList<>();
  private final ManualScheduler scheduler = new ManualScheduler(new ManualClock(NOW));

  @AfterEach
  void closeAll() throws Exception {
    for (int i = open.size() - 1; i >= 0; i--) {
      open.get(i).close();
    }
  }

  /** An engine over a TLS transport whose certificate expires {@code validFor} from now. */
  private ReplicationManager engine(Duration validFor, TlsCredentials[] issued) {
    TlsCredentials host = Certificates.make(NettyTransportTest.CA, "primary.test",
        List.of("primary.test"), NOW.minus(Duration.ofDays(1)), NOW.plus(validFor), true, true,
        false);
    issued[0] = host;
    NettyTransport transport = NettyTransport.builder().hostName("primary.test").workerThreads(1)
        .clock(Clock.fixed(NOW, ZoneOffset.UTC))
        .tls(TlsSettings.of(host, List.of(NettyTransportTest.CA.certificate()))).build();
    open.add(transport);
    ReplicationManager engine = ReplicaEngine.builder().hostName("primary.test")
        .clock(scheduler.clock()).scheduler(scheduler).transport(transport).build();
    open.add(engine);
    return engine;
  }

  private static List<ReplicationEvent.CertificateExpiring> expiring(List<ReplicationEvent> all) {
    return all.stream().filter(ReplicationEvent.CertificateExpiring.class::isInstance)
        .map(ReplicationEvent.CertificateExpiring.class::cast).toList();
  }

  @Test
  void certificateInsideTheWindowReachesEveryListenerOnce() {
    TlsCredentials[] issued = new TlsCredentials[1];
    Duration validFor = Duration.ofDays(10).plusHours(12);
    ReplicationManager engine = engine(validFor, issued);
    List<ReplicationEvent> first = new CopyOnWriteArrayList<>();
    engine.addListener(first::add);
    scheduler.runUntilIdle();

    assertEquals(1, expiring(first).size(), "one warning: " + first);
    ReplicationEvent.CertificateExpiring w = expiring(first).get(0);
    assertEquals("primary.test", w.hostName());
    assertEquals(issued[0].certificate().getSubjectX500Principal().getName(), w.subject());
    assertEquals(NOW.plus(validFor), w.notAfter());
    assertEquals(validFor, w.remaining());
    assertEquals(10, w.daysLeft());
    assertEquals(NOW, w.time());

    List<ReplicationEvent> later = new CopyOnWriteArrayList<>();
    engine.addListener(later::add);
    scheduler.runUntilIdle();
    assertEquals(List.of(w), expiring(later), "a listener added later hears of it too");
    assertEquals(1, expiring(first).size(), "the first listener is not told again: " + first);
  }

  @Test
  void certificateOutsideTheWindowRaisesNoEvent() {
    ReplicationManager engine = engine(Duration.ofDays(365), new TlsCredentials[1]);
    List<ReplicationEvent> events = new CopyOnWriteArrayList<>();
    engine.addListener(events::add);
    scheduler.runUntilIdle();
    assertTrue(expiring(events).isEmpty(), "no warning for a year-long certificate: " + events);
  }
}
