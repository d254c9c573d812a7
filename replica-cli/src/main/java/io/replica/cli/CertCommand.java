package io.replica.cli;

import io.replica.transport.netty.Certificates;
import io.replica.transport.netty.TlsCredentials;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code replica cert}: a private CA, host certificates it issues, self-signed host certificates;
 * PEM out, PKCS#12 as well on request. Host certificates carry both clientAuth and serverAuth and
 * the host names as SAN DNS entries, which is what a replica server checks.
 */
@Command(name = "cert", mixinStandardHelpOptions = true,
    description = "Make certificates for certificate-based replication.",
    subcommands = {CertCommand.NewCa.class, CertCommand.Issue.class,
        CertCommand.SelfSigned.class})
final class CertCommand implements Callable<Integer> {

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() {
    spec.commandLine().usage(spec.commandLine().getErr());
    return 2;
  }

  private static final Pattern HOST_NAME = Pattern.compile(
      "(\\*\\.)?[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
          + "(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\\.?");

  /** A DNS name a certificate can carry (a leading "*." allowed), at most 253 characters. */
  static boolean hostName(String h) {
    return h.length() <= 253 && HOST_NAME.matcher(h).matches();
  }

  private static String notAHostName(CommandSpec spec, String h) {
    return "cert " + spec.name() + ": --host '" + h + "' is not a DNS name (letters, digits and hyphens between dots,"
        + " e.g. hv1.contoso.com); pass the host's fully qualified name";
  }

  /** Makes the credentials and writes them; a file that cannot be written is one line. */
  private static int write(CommandSpec spec, Output output, Supplier<TlsCredentials> make,
      Path defaultCert, Path defaultKey, String what) {
    try {
      return output.write(spec, make.get(), defaultCert, defaultKey, what);
    } catch (IOException e) {
      spec.commandLine().getErr().println("cert " + spec.name() + ": cannot write: "
          + Preflight.describe(e) + " (name files in a folder this user can write)");
      return 1;
    }
  }

  /** Output options shared by the subcommands. */
  static class Output {
    @Option(names = "--cert", paramLabel = "FILE", description = "Certificate PEM file to write.")
    Path cert;

    @Option(names = "--key", paramLabel = "FILE", description = "Private key PEM file to write.")
    Path key;

    @Option(names = "--pkcs12", paramLabel = "FILE",
        description = "Also write key and chain as PKCS#12 (needs --password).")
    Path pkcs12;

    @Option(names = "--password", paramLabel = "PASSWORD",
        description = "Password of the PKCS#12 file.")
    String password;

    @Option(names = "--force", description = "Replace output files that exist (a CA's key replaced"
        + " cannot issue for the CA it replaced).")
    boolean force;

    /**
     * Refuses what would fail half-way through writing: a missing password, an output that is a
     * folder or whose folder does not exist, a validity that is not positive; and an output that
     * exists, without {@code --force}, since it may be a key nothing else holds.
     */
    int check(CommandSpec spec, Path defaultCert, Path defaultKey, Duration validity) {
      PrintWriter err = spec.commandLine().getErr();
      String command = "cert " + spec.name() + ": ";
      if (pkcs12 != null && password == null) {
        err.println(command + "--pkcs12 " + pkcs12 + " needs --password (the PKCS#12 file is"
            + " protected by it)");
        return 2;
      }
      if (validity.isNegative() || validity.isZero()) {
        err.println(command + "--validity " + validity + " is not positive; pass a duration such"
            + " as 8760h (one year)");
        return 2;
      }
      Path[][] outputs = {{cert != null ? cert : defaultCert, Path.of("--cert")},
          {key != null ? key : defaultKey, Path.of("--key")}, {pkcs12, Path.of("--pkcs12")}};
      for (Path[] o : outputs) {
        Path file = o[0];
        if (file == null) {
          continue;
        }
        Path folder = file.toAbsolutePath().getParent();
        if (Files.isDirectory(file)) {
          err.println(command + o[1] + " '" + file + "' is a folder; name a file in it");
          return 2;
        }
        if (folder != null && !Files.isDirectory(folder)) {
          err.println(command + o[1] + " '" + file + "': the folder " + folder + " does not"
              + " exist; create it or name a file in an existing folder");
          return 2;
        }
        if (folder != null && !Files.isWritable(folder)) {
          err.println(command + o[1] + " '" + file + "': this user may not write in the folder "
              + folder + "; name a file in a folder you can write");
          return 2;
        }
        if (!force && Files.exists(file, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
          err.println(command + o[1] + " '" + file + "' exists; name another file, or pass --force to"
              + " replace it");
          return 2;
        }
      }
      return 0;
    }

    int write(CommandSpec spec, TlsCredentials c, Path defaultCert, Path defaultKey, String what)
        throws IOException {
      PrintWriter out = spec.commandLine().getOut();
      Path certFile = cert != null ? cert : defaultCert;
      Path keyFile = key != null ? key : defaultKey;
      c.writePem(certFile, keyFile);
      out.println("wrote " + certFile + ": " + what + " '"
          + c.certificate().getSubjectX500Principal().getName() + "', valid until "
          + c.certificate().getNotAfter().toInstant());
      out.println("wrote " + keyFile + ": its private key (keep it secret)");
      if (pkcs12 != null) {
        c.writePkcs12(pkcs12, password.toCharArray());
        out.println("wrote " + pkcs12 + ": key and chain as PKCS#12");
      }
      return 0;
    }
  }

  @Command(name = "new-ca", mixinStandardHelpOptions = true,
      description = "Create a private certificate authority (default ca.pem and ca.key).")
  static final class NewCa implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--name", defaultValue = "Replica CA", description = "Common name of the CA.")
    String name;

    @Option(names = "--validity", defaultValue = "87600h", converter = DurationConverter.class,
        description = "How long the CA is valid (default 87600h, ten years).")
    Duration validity;

    @picocli.CommandLine.Mixin
    Output output = new Output();

    @Override
    public Integer call() {
      int problem = output.check(spec, Path.of("ca.pem"), Path.of("ca.key"), validity);
      if (problem != 0) {
        return problem;
      }
      return write(spec, output, () -> Certificates.newCa(name, validity), Path.of("ca.pem"),
          Path.of("ca.key"), "CA certificate");
    }
  }

  @Command(name = "issue", mixinStandardHelpOptions = true,
      description = "Issue a host certificate signed by the CA (default FQDN.pem and FQDN.key).")
  static final class Issue implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--host", required = true, paramLabel = "FQDN",
        description = "The host's name; repeat for more names (the first is also the CN).")
    List<String> hosts;

    @Option(names = "--ca-cert", defaultValue = "ca.pem", paramLabel = "FILE",
        description = "The CA certificate (default ca.pem).")
    Path caCert;

    @Option(names = "--ca-key", defaultValue = "ca.key", paramLabel = "FILE",
        description = "The CA private key (default ca.key).")
    Path caKey;

    @Option(names = "--validity", defaultValue = "8760h", converter = DurationConverter.class,
        description = "How long the certificate is valid (default 8760h, one year).")
    Duration validity;

    @picocli.CommandLine.Mixin
    Output output = new Output();

    @Override
    public Integer call() {
      PrintWriter err = spec.commandLine().getErr();
      String first = hosts.get(0);
      for (String h : hosts) {
        if (!hostName(h)) {
          err.println(notAHostName(spec, h));
          return 2;
        }
      }
      int problem = output.check(spec, Path.of(first + ".pem"), Path.of(first + ".key"),
          validity);
      if (problem != 0) {
        return problem;
      }
      Optional<String> missing = Preflight.fileProblem("--ca-cert", caCert)
          .or(() -> Preflight.fileProblem("--ca-key", caKey));
      if (missing.isPresent()) {
        err.println("cert issue: " + missing.get() + " (make a CA with 'replica cert new-ca',"
            + " or pass --ca-cert and --ca-key)");
        return 1;
      }
      TlsCredentials ca;
      try {
        ca = TlsCredentials.readPem(caCert, caKey);
      } catch (IOException e) {
        err.println("cert issue: cannot read the CA: " + Preflight.describe(e)
            + " (make one with 'replica cert new-ca', or pass --ca-cert and --ca-key)");
        return 1;
      }
      Optional<String> bad = Preflight.credentialsProblem(ca, caCert, caKey, Instant.now());
      if (bad.isEmpty() && ca.certificate().getBasicConstraints() < 0) {
        bad = Optional.of("the certificate in " + caCert + " ('"
            + ca.certificate().getSubjectX500Principal().getName() + "') is not a CA, so"
            + " certificates it signs are refused; pass the CA made by 'replica cert new-ca'");
      }
      if (bad.isPresent()) {
        err.println("cert issue: " + bad.get());
        return 1;
      }
      return write(spec, output, () -> Certificates.issue(ca, hosts, validity),
          Path.of(first + ".pem"), Path.of(first + ".key"), "host certificate");
    }
  }

  @Command(name = "self-signed", mixinStandardHelpOptions = true,
      description = "Create a self-signed host certificate; peers must trust it as such.")
  static final class SelfSigned implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--host", required = true, paramLabel = "FQDN",
        description = "The host's fully qualified name.")
    String host;

    @Option(names = "--validity", defaultValue = "8760h", converter = DurationConverter.class,
        description = "How long the certificate is valid (default 8760h, one year).")
    Duration validity;

    @picocli.CommandLine.Mixin
    Output output = new Output();

    @Override
    public Integer call() {
      if (!hostName(host)) {
        spec.commandLine().getErr().println(notAHostName(spec, host));
        return 2;
      }
      int problem = output.check(spec, Path.of(host + ".pem"), Path.of(host + ".key"), validity);
      if (problem != 0) {
        return problem;
      }
      return write(spec, output, () -> Certificates.selfSigned(host, validity),
          Path.of(host + ".pem"), Path.of(host + ".key"), "self-signed host certificate");
    }
  }
}
