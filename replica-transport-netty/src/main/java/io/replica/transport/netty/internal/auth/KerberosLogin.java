package io.replica.transport.netty.internal.auth;

import java.nio.file.Path;
import java.security.PrivilegedActionException;
import java.security.PrivilegedExceptionAction;
import java.util.Date;
import java.util.HashMap;
import java.util.Map;
import javax.security.auth.Subject;
import javax.security.auth.kerberos.KerberosTicket;
import javax.security.auth.login.AppConfigurationEntry;
import javax.security.auth.login.Configuration;
import javax.security.auth.login.LoginContext;
import javax.security.auth.login.LoginException;

/**
 * A JAAS login of a host principal from its keytab, kept for the life of the transport and
 * renewed when its ticket-granting ticket nears its end. The subject holds the keys, so it can
 * accept (replica server) and initiate (primary).
 */
public final class KerberosLogin {
  private final Path keytab;
  private final String principal;
  private Subject subject;
  private LoginContext context;

  public KerberosLogin(Path keytab, String principal) throws LoginException {
    this.keytab = keytab;
    this.principal = principal;
    login();
  }

  private void login() throws LoginException {
    Map<String, String> options = new HashMap<>();
    options.put("useKeyTab", "true");
    options.put("keyTab", keytab.toAbsolutePath().toString());
    options.put("principal", principal);
    options.put("storeKey", "true");
    options.put("doNotPrompt", "true");
    options.put("isInitiator", "true");
    options.put("refreshKrb5Config", "true");
    AppConfigurationEntry entry = new AppConfigurationEntry(
        "com.sun.security.auth.module.Krb5LoginModule",
        AppConfigurationEntry.LoginModuleControlFlag.REQUIRED, options);
    Configuration configuration = new Configuration() {
      @Override
      public AppConfigurationEntry[] getAppConfigurationEntry(String name) {
        return new AppConfigurationEntry[] {entry};
      }
    };
    Subject s = new Subject();
    LoginContext c = new LoginContext("replica", s, null, configuration);
    c.login();
    this.subject = s;
    this.context = c;
  }

  /** Runs {@code action} as this principal, logging in again first if the TGT ran out. */
  public synchronized <T> T run(PrivilegedExceptionAction<T> action) throws Exception {
    if (expiring()) {
      try {
        context.logout();
      } catch (LoginException e) {
        // the old login is dropped either way
      }
      login();
    }
    try {
      return Subject.doAs(subject, action);
    } catch (PrivilegedActionException e) {
      throw e.getException();
    }
  }

  private boolean expiring() {
    Date soon = new Date(System.currentTimeMillis() + 60_000);
    for (KerberosTicket t : subject.getPrivateCredentials(KerberosTicket.class)) {
      if (t.getServer().getName().startsWith("krbtgt/") && t.getEndTime().after(soon)) {
        return false;
      }
    }
    return true;
  }

  /** The principal logged in. */
  public String principal() {
    return principal;
  }
}
