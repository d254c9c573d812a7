package io.replica.cli;

import io.replica.transport.netty.TlsCredentials;
import java.io.IOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Optional;

/**
 * Checks a command makes before it starts anything: that the TLS files belong together and are
 * valid now, that folders are folders, that a listen address resolves and its port is free. Each
 * problem is one line saying what is wrong and what to do, so that a bad configuration stops the
 * command at once instead of surfacing later as a stack trace or a peer's TLS alert.
 */
final class Preflight {

  private static final byte[] CHALLENGE =
      "replica: does this key belong to this certificate?".getBytes(StandardCharsets.US_ASCII);

  private Preflight() {}

  /** An I/O failure on a file in a few words, naming the file. */
  static String describe(IOException e) {
    if (e instanceof NoSuchFileException n) {
      return "there is no file '" + n.getFile() + "'";
    }
    if (e instanceof AccessDeniedException a) {
      return "no permission to use '" + a.getFile() + "'";
    }
    if (e instanceof FileAlreadyExistsException x) {
      return "'" + x.getFile() + "' is in the way (a file where a folder is needed)";
    }
    if (e instanceof FileSystemException f && f.getFile() != null) {
      return "'" + f.getFile() + "': " + (f.getReason() != null ? f.getReason() : f.toString());
    }
    return e.getMessage() != null ? e.getMessage() : e.toString();
  }

  /** An input file that is a folder or missing, named with the option that gave it. */
  static Optional<String> fileProblem(String option, Path file) {
    if (Files.isDirectory(file)) {
      return Optional.of(option + " '" + file + "' is a folder, not a file; name the file in it");
    }
    if (!Files.exists(file)) {
      return Optional.of(option + " '" + file + "': there is no such file");
    }
    return Optional.empty();
  }

  /**
   * A key and certificate chain that cannot work now: the key is not the certificate's, or a
   * certificate of the chain is expired or not valid yet.
   */
  static Optional<String> credentialsProblem(TlsCredentials c, Path certFile, Path keyFile,
      Instant now) {
    X509Certificate leaf = c.certificate();
    if (!keyMatches(c.privateKey(), leaf.getPublicKey())) {
      return Optional.of("the private key in " + keyFile + " does not belong to the certificate"
          + " in " + certFile + " ('" + leaf.getSubjectX500Principal().getName() + "'); pass the"
          + " key file that was written with that certificate");
    }
    for (X509Certificate x : c.chain()) {
      String subject = x.getSubjectX500Principal().getName();
      if (now.isAfter(x.getNotAfter().toInstant())) {
        return Optional.of("the certificate '" + subject + "' in " + certFile + " expired on "
            + x.getNotAfter().toInstant() + "; peers refuse it (issue a new one, e.g. with"
            + " 'replica cert issue', and pass it)");
      }
      if (now.isBefore(x.getNotBefore().toInstant())) {
        return Optional.of("the certificate '" + subject + "' in " + certFile
            + " is not valid before " + x.getNotBefore().toInstant() + "; peers refuse it until"
            + " then (check this machine's clock, or use a certificate valid now)");
      }
    }
    return Optional.empty();
  }

  /**
   * Whether {@code key} is the private half of {@code publicKey}: a signature made with it must
   * verify. Key types this cannot sign with are taken as matching; the TLS handshake still tells.
   */
  static boolean keyMatches(PrivateKey key, PublicKey publicKey) {
    String algorithm = switch (key.getAlgorithm()) {
      case "RSA" -> "SHA256withRSA";
      case "EC", "ECDSA" -> "SHA256withECDSA";
      case "Ed25519", "EdDSA" -> "Ed25519";
      case "Ed448" -> "Ed448";
      default -> null;
    };
    if (algorithm == null) {
      return true;
    }
    if (!key.getAlgorithm().equals(publicKey.getAlgorithm())
        && !(key.getAlgorithm().startsWith("Ed") && publicKey.getAlgorithm().startsWith("Ed"))) {
      return false;
    }
    try {
      Signature sign = Signature.getInstance(algorithm);
      sign.initSign(key);
      sign.update(CHALLENGE);
      byte[] signature = sign.sign();
      Signature verify = Signature.getInstance(algorithm);
      verify.initVerify(publicKey);
      verify.update(CHALLENGE);
      return verify.verify(signature);
    } catch (GeneralSecurityException | RuntimeException e) {
      return false;
    }
  }

  /**
   * A folder that is not one and cannot become one: {@code dir} must be a folder or be
   * creatable (it is created).
   */
  static Optional<String> folderProblem(String what, Path dir) {
    if (Files.isDirectory(dir)) {
      return Files.isWritable(dir) ? Optional.empty()
          : Optional.of(what + " '" + dir + "' is a folder this user may not write; grant write"
              + " access or pass another folder");
    }
    if (Files.exists(dir)) {
      return Optional.of(what + " '" + dir + "' is a file, not a folder; pass a folder (or a path"
          + " where one can be created)");
    }
    try {
      Files.createDirectories(dir);
      return Optional.empty();
    } catch (IOException e) {
      return Optional.of(what + " '" + dir + "' cannot be created: " + describe(e) + "; pass a"
          + " folder this user can create or write");
    }
  }

  /**
   * A listen address that cannot work: its host does not resolve or is not on this machine, or
   * its port is taken. The port is tried by binding it for a moment.
   */
  static Optional<String> listenProblem(String option, String host, int port) {
    if (port < 1 || port > 65535) {
      return Optional.of(option + " port " + port + " is out of range; pass a port from 1 to"
          + " 65535");
    }
    InetAddress address;
    try {
      address = InetAddress.getByName(host);
    } catch (UnknownHostException e) {
      return Optional.of(option + " host '" + host + "' does not resolve to an address; pass an"
          + " address or a name of this machine (e.g. 0.0.0.0 for all of them)");
    }
    try (ServerSocket s = new ServerSocket()) {
      s.setReuseAddress(true);
      s.bind(new InetSocketAddress(address, port));
      return Optional.empty();
    } catch (BindException e) {
      String reason = String.valueOf(e.getMessage()).toLowerCase(java.util.Locale.ROOT);
      if (reason.contains("in use")) {
        return Optional.of(option + " port " + port + " on " + host + " is already in use by"
            + " another program; stop it or pass another port");
      }
      if (reason.contains("assign")) {
        return Optional.of(option + " host '" + host + "' (" + address.getHostAddress()
            + ") is not an address of this machine; pass one of its addresses or names");
      }
      return Optional.of("cannot listen on " + host + ":" + port + " (" + option + "): "
          + e.getMessage() + "; pass another address or port");
    } catch (IOException e) {
      return Optional.of("cannot listen on " + host + ":" + port + " (" + option + "): "
          + describe(e) + "; pass another address or port");
    }
  }

  /** A host name that does not resolve: peers could not reach this host by it. */
  static Optional<String> unresolvable(String option, String host) {
    try {
      InetAddress.getByName(host);
      return Optional.empty();
    } catch (UnknownHostException e) {
      return Optional.of(option + " '" + host + "' does not resolve to an address, so primaries"
          + " cannot reach this server by it; add it to DNS (or the hosts file) or pass the"
          + " server's resolvable name");
    }
  }
}
