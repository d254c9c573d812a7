package io.replica.transport.netty;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.kerby.kerberos.kerb.server.SimpleKdcServer;

/**
 * One embedded KDC (Apache Kerby) per test JVM, on a free loopback port, with the host
 * principals the tests use. The JVM's Kerberos configuration is global, so every test shares it.
 */
final class TestKdc {
  static final String REALM = "TEST.REALM";
  private static TestKdc instance;

  final SimpleKdcServer kdc;
  final Path dir;

  private TestKdc() throws Exception {
    dir = Files.createTempDirectory("replica-kdc");
    dir.toFile().deleteOnExit();
    kdc = new SimpleKdcServer();
    kdc.setWorkDir(dir.toFile());
    kdc.setKdcHost("localhost");
    kdc.setKdcRealm(REALM);
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      kdc.setKdcTcpPort(s.getLocalPort());
    }
    kdc.setAllowUdp(false);
    kdc.init();
    kdc.start();
    Path conf = dir.resolve("krb5.conf");
    String text = Files.readString(conf);
    if (!text.contains("udp_preference_limit")) {
      text = text.replace("[libdefaults]", "[libdefaults]\n    udp_preference_limit = 1");
      Files.writeString(conf, text);
    }
    System.setProperty("java.security.krb5.conf", conf.toString());
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        kdc.stop();
      } catch (Exception e) {
        // exiting anyway
      }
    }));
  }

  static synchronized TestKdc get() throws Exception {
    if (instance == null) {
      instance = new TestKdc();
    }
    return instance;
  }

  /** A keytab with the host principal of {@code host}, created on first use. */
  synchronized Path keytab(String host) throws Exception {
    Path keytab = dir.resolve(host + ".keytab");
    if (!Files.exists(keytab)) {
      kdc.createPrincipal(principal(host));
      kdc.exportPrincipal(principal(host), keytab.toFile());
    }
    return keytab;
  }

  /**
   * A keytab with {@code principal} of this realm (any form: a user's {@code alice/host}, another
   * service's {@code HTTP/host}), created on first use.
   */
  synchronized Path keytabOf(String principal) throws Exception {
    Path keytab = dir.resolve(principal.replace('/', '_') + ".keytab");
    if (!Files.exists(keytab)) {
      kdc.createPrincipal(principal + "@" + REALM);
      kdc.exportPrincipal(principal + "@" + REALM, keytab.toFile());
    }
    return keytab;
  }

  /** Gives {@code host} a new key in the KDC; keytabs exported before hold the old one. */
  synchronized void rekey(String host) throws Exception {
    kdc.deletePrincipal(principal(host));
    kdc.createPrincipal(principal(host));
  }

  static String principal(String host) {
    return "host/" + host + "@" + REALM;
  }

  static KerberosSettings settings(String host) throws Exception {
    return KerberosSettings.fromKeytab(get().keytab(host), principal(host));
  }

  /** Every name resolves to loopback: the tests use made-up host names. */
  static InetAddress loopback(String name) {
    return InetAddress.getLoopbackAddress();
  }

}
