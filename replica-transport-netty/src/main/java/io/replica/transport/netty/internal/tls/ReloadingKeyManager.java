package io.replica.transport.netty.internal.tls;

import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * Presents this host's current certificate. It asks its source at every handshake, so a
 * certificate replaced on disk is used from the next connection on, without a restart; the alias
 * names the generation so that one handshake never mixes an old key with a new certificate.
 */
public final class ReloadingKeyManager extends X509ExtendedKeyManager {
  private final Supplier<TlsMaterial> source;
  private final Map<String, TlsMaterial> byAlias = new ConcurrentHashMap<>();

  public ReloadingKeyManager(Supplier<TlsMaterial> source) {
    this.source = source;
  }

  private String alias(String[] keyTypes) {
    TlsMaterial m = source.get();
    String algorithm = m.key().getAlgorithm();
    for (String type : keyTypes) {
      if (type != null && (type.equalsIgnoreCase(algorithm)
          || (type.startsWith("EC") && algorithm.equals("EC")))) {
        String alias = "replica-" + m.generation();
        byAlias.keySet().removeIf(a -> !a.equals(alias)
            && Long.parseLong(a.substring(8)) < m.generation() - 1);
        byAlias.put(alias, m);
        return alias;
      }
    }
    return null;
  }

  @Override
  public String[] getClientAliases(String keyType, Principal[] issuers) {
    String a = alias(new String[] {keyType});
    return a == null ? null : new String[] {a};
  }

  @Override
  public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
    return alias(keyType);
  }

  @Override
  public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
    return alias(keyType);
  }

  @Override
  public String[] getServerAliases(String keyType, Principal[] issuers) {
    return getClientAliases(keyType, issuers);
  }

  @Override
  public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
    return alias(new String[] {keyType});
  }

  @Override
  public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
    return alias(new String[] {keyType});
  }

  @Override
  public X509Certificate[] getCertificateChain(String alias) {
    TlsMaterial m = byAlias.get(alias);
    return m == null ? null : m.chain().toArray(new X509Certificate[0]);
  }

  @Override
  public PrivateKey getPrivateKey(String alias) {
    TlsMaterial m = byAlias.get(alias);
    return m == null ? null : m.key();
  }
}
