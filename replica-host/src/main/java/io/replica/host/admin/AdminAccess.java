package io.replica.host.admin;

import io.netty.channel.Channel;
import io.netty.channel.socket.nio.NioChannelOption;
import io.netty.handler.ssl.SslHandler;
import io.replica.transport.netty.Certificates;
import java.io.IOException;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.SSLPeerUnverifiedException;
import jdk.net.ExtendedSocketOptions;
import jdk.net.UnixDomainPrincipal;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Who may use the management API, as Hyper-V Replica is managed by "Hyper-V Administrators": on
 * the Unix socket root and the members of the admin group (by the peer's credentials), over TLS a
 * client whose certificate names one of the administrators.
 */
final class AdminAccess {
  private static final Logger LOG = LoggerFactory.getLogger(AdminServer.class);
  private static final int REFUSALS_LOGGED_MAX = 1024;

  private final String hostName;
  private final @Nullable String adminGroup;
  private final Set<String> administrators;
  private final UnixAccounts accounts = new UnixAccounts();
  private final Set<String> refusalsLogged = ConcurrentHashMap.newKeySet();

  /**
   * @param adminGroup the group admitted on the Unix socket, if it listens on one
   * @param administrators the names admitted over TLS, in lower case
   */
  AdminAccess(String hostName, @Nullable String adminGroup, Set<String> administrators) {
    this.hostName = hostName;
    this.adminGroup = adminGroup;
    this.administrators = Set.copyOf(administrators);
  }

  /** Who is at the other end of a connection, and whether they may manage this host. */
  record Caller(String who, @Nullable String refusal) {}

  /** Whether the process at the other end of a Unix socket may manage this host. */
  Caller unixCaller(Channel ch) {
    UnixDomainPrincipal peer;
    try {
      peer = ch.config().getOption(NioChannelOption.of(ExtendedSocketOptions.SO_PEERCRED));
    } catch (RuntimeException e) {
      peer = null;
    }
    String adminGroup = Objects.requireNonNull(this.adminGroup);
    if (peer == null) {
      return new Caller("an unknown process", "the management API cannot read the credentials of"
          + " the connecting process, so it refuses it");
    }
    String user = peer.user().getName();
    String who = "user '" + AdminApi.printable(user) + "'";
    try {
      Optional<UnixAccounts.User> account = accounts.user(user);
      if (account.isPresent() && account.get().uid() == 0) {
        return new Caller(who, null);
      }
      if (peer.group().getName().equals(adminGroup)) {
        return new Caller(who, null);
      }
      Optional<UnixAccounts.Group> g = accounts.group(adminGroup);
      if (g.isPresent() && (g.get().members().contains(user)
          || (account.isPresent() && account.get().gid() == g.get().gid()))) {
        return new Caller(who, null);
      }
    } catch (IOException e) {
      return new Caller(who, "the management API cannot check whether " + who + " is in the"
          + " group '" + adminGroup + "': " + e.getMessage());
    }
    return new Caller(who, who + " may not manage replication on host '" + hostName
        + "': only root and members of the group '" + adminGroup + "' may (add the user to it,"
        + " e.g. usermod -aG " + adminGroup + " " + AdminApi.printable(user)
        + ", and log in again)");
  }

  /** Whether the client of a finished TLS handshake may manage this host. */
  Caller tlsCaller(SslHandler ssl) {
    List<String> names;
    try {
      Certificate[] chain = ssl.engine().getSession().getPeerCertificates();
      names = Certificates.hostNames((X509Certificate) chain[0]);
    } catch (SSLPeerUnverifiedException | RuntimeException e) {
      return new Caller("a TLS client", "the management API admits only clients with a"
          + " certificate");
    }
    for (String n : names) {
      if (administrators.contains(n.toLowerCase(java.util.Locale.ROOT))) {
        return new Caller("administrator '" + AdminApi.printable(n) + "'", null);
      }
    }
    String shown = AdminApi.printable(String.join(", ", names));
    return new Caller("certificate [" + shown + "]", "the certificate [" + shown + "] names"
        + " no administrator of host '" + hostName + "' (add one of its names to the"
        + " host's administrator list)");
  }

  /** Logs a refusal once per caller (up to a bound, so a flood of callers cannot fill the log). */
  void logRefusal(Caller c) {
    if (refusalsLogged.size() < REFUSALS_LOGGED_MAX && refusalsLogged.add(c.who)) {
      LOG.warn("management API refused {}: {}", c.who, c.refusal);
    }
  }
}
