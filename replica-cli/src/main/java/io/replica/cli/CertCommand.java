package io.replica.cli;

import io.replica.transport.netty.Certificates;
import io.replica.transport.netty.TlsCredentials;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
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

    int write(CommandSpec spec, TlsCredentials c, Path defaultCert, Path defaultKey, String what)
        throws IOException {
      PrintWriter out = spec.commandLine().getOut();
      if (pkcs12 != null && password == null) {
        spec.commandLine().getErr().println("--pkcs12 " + pkcs12 + " needs --password (the"
            + " PKCS#12 file is protected by it)");
        return 2;
      }
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
    public Integer call() throws IOException {
      return output.write(spec, Certificates.newCa(name, validity), Path.of("ca.pem"),
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
    public Integer call() throws IOException {
      TlsCredentials ca;
      try {
        ca = TlsCredentials.readPem(caCert, caKey);
      } catch (IOException e) {
        spec.commandLine().getErr().println("cannot read the CA: " + e.getMessage()
            + " (make one with 'replica cert new-ca', or pass --ca-cert and --ca-key)");
        return 1;
      }
      String first = hosts.get(0);
      return output.write(spec, Certificates.issue(ca, hosts, validity),
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
    public Integer call() throws IOException {
      return output.write(spec, Certificates.selfSigned(host, validity), Path.of(host + ".pem"),
          Path.of(host + ".key"), "self-signed host certificate");
    }
  }
}
