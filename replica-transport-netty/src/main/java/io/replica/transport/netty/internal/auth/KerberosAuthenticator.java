package io.replica.transport.netty.internal.auth;

import io.netty.channel.Channel;
import io.replica.spi.transport.Endpoint;
import io.replica.transport.netty.internal.handler.PeerAuthenticator;
import io.replica.transport.netty.internal.handler.PeerText;
import io.replica.transport.netty.internal.handler.SaslSession;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import javax.security.auth.callback.Callback;
import javax.security.auth.callback.UnsupportedCallbackException;
import javax.security.sasl.AuthorizeCallback;
import javax.security.sasl.Sasl;
import javax.security.sasl.SaslClient;
import javax.security.sasl.SaslException;
import javax.security.sasl.SaslServer;
import org.jspecify.annotations.Nullable;

/**
 * Kerberos with SASL/GSSAPI: the primary authenticates as its host principal to the service
 * {@code host/<the host it connects to>}, and the server proves itself back (mutual
 * authentication). The replica server accepts only host principals ({@code host/fqdn@REALM},
 * the service name configurable) of its accepted realms, and names the primary by the
 * principal's host part, which its hello must repeat. A user principal such as {@code
 * alice/hv1.contoso.com} or another service's ({@code HTTP/hv1.contoso.com}) has the host name
 * as its instance too, but proves only a person or a web server, never the host.
 */
public final class KerberosAuthenticator implements PeerAuthenticator {
  private final KerberosLogin login;
  private final String qop;
  private final Set<String> realms;
  private final String service;

  public KerberosAuthenticator(KerberosLogin login, String qop, Set<String> realms,
      String service) {
    this.login = login;
    this.qop = qop;
    this.realms = realms;
    this.service = service;
  }

  @Override
  public boolean tls() {
    return false;
  }

  @Override
  public void checkChannel(Channel channel, boolean client, Endpoint remote) {}

  private static String ownHost(String principal) {
    int slash = principal.indexOf('/');
    int at = principal.lastIndexOf('@');
    return principal.substring(slash + 1, at < 0 ? principal.length() : at);
  }

  @Override
  public SaslSession sasl(boolean client, Endpoint remote) throws Rejection {
    Map<String, String> props = new HashMap<>();
    props.put(Sasl.QOP, qop);
    props.put(Sasl.SERVER_AUTH, "true");
    props.put(Sasl.MAX_BUFFER, "16777215");
    try {
      if (client) {
        SaslClient c = login.run(() -> Sasl.createSaslClient(new String[] {"GSSAPI"}, null,
            service, remote.host(), props, null));
        return new Session(c, null, remote.host());
      }
      String host = ownHost(login.principal());
      SaslServer s = login.run(() -> Sasl.createSaslServer("GSSAPI", service, host, props,
          callbacks -> {
            for (Callback cb : callbacks) {
              if (cb instanceof AuthorizeCallback) {
                AuthorizeCallback a = (AuthorizeCallback) cb;
                a.setAuthorized(a.getAuthenticationID().equals(a.getAuthorizationID()));
              } else {
                throw new UnsupportedCallbackException(cb);
              }
            }
          }));
      return new Session(null, s, remote.host());
    } catch (Exception e) {
      throw new Rejection("cannot start Kerberos authentication as '" + login.principal()
          + "': " + e.getMessage() + " (check the keytab and krb5.conf)");
    }
  }

  @Override
  public String identity(Channel channel, boolean client, Endpoint remote, String claimedHost,
      @Nullable SaslSession sasl) throws Rejection {
    Session s = (Session) java.util.Objects.requireNonNull(sasl);
    if (client) {
      return remote.host();
    }
    return hostOf(java.util.Objects.requireNonNull(s.server).getAuthorizationID(), service,
        realms, claimedHost);
  }

  /**
   * The host that {@code principal} identifies, if it is {@code <service>/<claimedHost>@REALM}
   * with a realm of {@code realms}.
   *
   * @throws Rejection naming the principal (escaped: its text came over the network) otherwise
   */
  public static String hostOf(String principal, String service, Set<String> realms,
      String claimedHost) throws Rejection {
    String shown = "'" + PeerText.escaped(principal) + "'";
    int at = principal.lastIndexOf('@');
    String realm = at < 0 ? "" : principal.substring(at + 1);
    if (!realms.contains(realm.toUpperCase(Locale.ROOT))) {
      throw new Rejection("Kerberos principal " + shown + " is from realm '"
          + PeerText.escaped(realm) + "'; this replica server accepts primaries of " + realms
          + " only");
    }
    String name = at < 0 ? principal : principal.substring(0, at);
    int slash = name.indexOf('/');
    if (slash < 0 || name.indexOf('/', slash + 1) >= 0
        || !name.substring(0, slash).equals(service) || slash == name.length() - 1) {
      throw new Rejection("Kerberos principal " + shown + " is not a host principal: only "
          + service + "/<fqdn>@REALM identifies a primary (a user's or another service's"
          + " principal never stands for a host; give the primary its host principal's keytab)");
    }
    String host = name.substring(slash + 1).toLowerCase(Locale.ROOT);
    if (!host.equals(claimedHost.toLowerCase(Locale.ROOT))) {
      throw new Rejection("Kerberos principal " + shown + " names host '"
          + PeerText.escaped(host) + "', not the host '" + PeerText.escaped(claimedHost)
          + "' the primary claims to be");
    }
    return host;
  }

  private final class Session implements SaslSession {
    final @Nullable SaslClient client;
    final @Nullable SaslServer server;
    final String peer;

    Session(@Nullable SaslClient client, @Nullable SaslServer server, String peer) {
      this.client = client;
      this.server = server;
      this.peer = peer;
    }

    private Rejection failed(Exception e) {
      Throwable root = e;
      while (root.getCause() != null && root.getCause() != root) {
        root = root.getCause();
      }
      String detail = e.getMessage() + (root != e ? " (" + root.getMessage() + ")" : "");
      return new Rejection(client != null
          ? "Kerberos authentication to '" + service + "/" + peer + "' failed: " + detail
              + " (check that the replica server's principal exists, the clocks agree, and this"
              + " host's keytab is current)"
          : "Kerberos authentication of the primary failed, bad ticket: " + detail
              + " (check that this server's keytab holds the current key of "
              + login.principal() + ")");
    }

    @Override
    public byte[] start() throws Rejection {
      try {
        SaslClient c = java.util.Objects.requireNonNull(client);
        return c.hasInitialResponse() ? login.run(() -> c.evaluateChallenge(new byte[0]))
            : new byte[0];
      } catch (Exception e) {
        throw failed(e);
      }
    }

    @Override
    public byte @Nullable [] evaluate(byte[] token) throws Rejection {
      try {
        if (client != null) {
          return login.run(() -> client.evaluateChallenge(token));
        }
        SaslServer s = java.util.Objects.requireNonNull(server);
        return login.run(() -> s.evaluateResponse(token));
      } catch (Exception e) {
        throw failed(e);
      }
    }

    @Override
    public boolean complete() {
      return client != null ? client.isComplete() : java.util.Objects.requireNonNull(server)
          .isComplete();
    }

    @Override
    public String qop() {
      return negotiated();
    }

    private String negotiated() {
      Object q = client != null ? client.getNegotiatedProperty(Sasl.QOP)
          : java.util.Objects.requireNonNull(server).getNegotiatedProperty(Sasl.QOP);
      return q == null ? "auth" : q.toString();
    }

    @Override
    public boolean wraps() {
      return !negotiated().equals("auth");
    }

    @Override
    public byte[] wrap(byte[] bytes, int offset, int length) throws SaslException {
      return client != null ? client.wrap(bytes, offset, length)
          : java.util.Objects.requireNonNull(server).wrap(bytes, offset, length);
    }

    @Override
    public byte[] unwrap(byte[] bytes, int offset, int length) throws SaslException {
      return client != null ? client.unwrap(bytes, offset, length)
          : java.util.Objects.requireNonNull(server).unwrap(bytes, offset, length);
    }

    @Override
    public void dispose() {
      try {
        if (client != null) {
          client.dispose();
        } else if (server != null) {
          server.dispose();
        }
      } catch (SaslException e) {
        // nothing held that matters
      }
    }
  }
}
