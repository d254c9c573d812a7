package io.replica.host.admin;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replica.api.ReplicationManager;
import io.replica.core.ReplicaEngine;
import io.replica.spi.time.Scheduler;
import io.replica.testkit.memory.InMemoryNetwork;
import io.replica.testkit.memory.InMemoryStorageProvider;
import io.replica.transport.netty.Certificates;
import io.replica.transport.netty.TlsCredentials;
import io.replica.transport.netty.TlsSettings;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The management API over TCP with mutual TLS admits only certificates of administrators. */
class AdminTlsTest {
  private ScheduledExecutorService threads;
  private ReplicationManager engine;
  private AdminServer admin;
  private TlsCredentials ca;

  @BeforeEach
  void start() throws Exception {
    threads = Executors.newSingleThreadScheduledExecutor();
    Scheduler scheduler = Scheduler.of(threads);
    engine = ReplicaEngine.builder().hostName("hv1.contoso.com").scheduler(scheduler)
        .transport(new InMemoryNetwork(scheduler).transport("hv1.contoso.com"))
        .storage(new InMemoryStorageProvider()).build();
    ca = Certificates.newCa("Admin Test CA", Duration.ofDays(1));
    admin = AdminServer.builder(engine, AdminServerTest.catalog())
        .tcp(0, TlsSettings.of(Certificates.issue(ca, List.of("localhost"), Duration.ofDays(1)),
            List.of(ca.certificate())), List.of("Admin.Contoso.com"))
        .start();
  }

  @AfterEach
  void stop() throws InterruptedException {
    admin.close();
    engine.close();
    threads.shutdownNow();
    assertTrue(threads.awaitTermination(30, TimeUnit.SECONDS));
  }

  /** The raw HTTP answer to {@code GET /v1/vms} from a client presenting {@code client}. */
  private String get(TlsCredentials client) throws Exception {
    KeyStore keys = KeyStore.getInstance("PKCS12");
    keys.load(null, null);
    keys.setKeyEntry("me", client.privateKey(), new char[0],
        client.chain().toArray(new X509Certificate[0]));
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(keys, new char[0]);
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    trust.setCertificateEntry("ca", ca.certificate());
    TrustManagerFactory tmf =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
    int port = admin.tcpAddress().orElseThrow().getPort();
    try (SSLSocket tls = (SSLSocket) context.getSocketFactory().createSocket("localhost", port)) {
      javax.net.ssl.SSLParameters p = tls.getSSLParameters();
      p.setEndpointIdentificationAlgorithm("HTTPS");
      tls.setSSLParameters(p);
      OutputStream out = tls.getOutputStream();
      out.write("GET /v1/vms HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
          .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      return new String(tls.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  @Test
  void anAdministratorsCertificateIsAdmitted() throws Exception {
    String r = get(Certificates.issue(ca, List.of("admin.contoso.com"), Duration.ofDays(1)));
    assertTrue(r.startsWith("HTTP/1.1 200"), r);
    assertTrue(r.contains("\"host\":\"hv1.contoso.com\""), r);
  }

  @Test
  void anyOtherTrustedCertificateIsRefused() throws Exception {
    String r = get(Certificates.issue(ca, List.of("intruder.example"), Duration.ofDays(1)));
    assertTrue(r.startsWith("HTTP/1.1 403"), r);
    assertTrue(r.contains("[intruder.example] names no administrator"), r);
    assertTrue(r.contains("not-authorized"), r);
  }
}
