package io.replica.host;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * What {@code replica host} runs: this host's name and TLS files, its state folder, whether it
 * serves as replica server, where guests reach their disks over NBD, and the machines it runs
 * (by name and disk files). Read from a JSON file; every mistake is reported with the field's
 * path and what to write instead, before anything starts.
 *
 * @param hostName this host's DNS name, as its certificate names it
 * @param stateFolder where the host keeps what it tracks and what it was asked to replicate
 * @param tls this host's certificate, key and the CA certificates it trusts
 * @param replicaServer set when this host accepts replicas from authorized primaries
 * @param nbd where the machines' disks are exported
 * @param admin where the management API listens, when it does
 * @param machines the machines this host runs, as primary
 */
public record HostConfig(String hostName, Path stateFolder, Tls tls, Optional<ReplicaServer> replicaServer,
    Nbd nbd, Optional<Admin> admin, List<Machine> machines) {

  /** The most machines one host may define. */
  public static final int MACHINES_MAX = 1024;

  /** The most disks one machine may have. */
  public static final int DISKS_MAX = 64;

  private static final long FILE_BYTES_MAX = 4L << 20;
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,62}");

  /** Checks that nothing is null and the lists are copied. */
  public HostConfig {
    Objects.requireNonNull(hostName, "hostName");
    Objects.requireNonNull(stateFolder, "stateFolder");
    Objects.requireNonNull(tls, "tls");
    Objects.requireNonNull(replicaServer, "replicaServer");
    Objects.requireNonNull(nbd, "nbd");
    Objects.requireNonNull(admin, "admin");
    machines = List.copyOf(machines);
  }

  /** PEM files for mutual TLS, as {@code replica cert} writes them. */
  public record Tls(Path certificate, Path key, Path trust) {}

  /**
   * The replica server role: listens on {@code listenHost:port} and stores the machines of any
   * primary whose certificate the trusted CA issued in {@code storage}.
   */
  public record ReplicaServer(String listenHost, int port, Path storage) {}

  /**
   * The management API: a Unix socket that root and the members of {@code group} may use (Hyper-V's
   * "Hyper-V Administrators"); the file gets mode 0660 and that group.
   */
  public record Admin(Path unixSocket, String group) {}

  /** NBD listeners: a Unix socket (mode 0660) and, optionally, TCP (loopback unless a host is named). */
  public record Nbd(Path unixSocket, Optional<String> tcpHost, int tcpPort) {}

  /**
   * A machine this host runs. Its id is the hypervisor's, stable across restarts (by default
   * derived from its name); its disks are exported over NBD as {@code <name>-disk<N>}.
   */
  public record Machine(String name, UUID id, List<Disk> disks) {
    /** Copies the list. */
    public Machine {
      disks = List.copyOf(disks);
    }
  }

  /**
   * One disk of a machine: a VHDX file, or a raw image (any other file) with the given logical
   * sector size. Its id is stable across restarts (by default derived from the machine and index).
   */
  public record Disk(Path path, UUID id, boolean vhdx, int sectorBytes) {}

  /** Thrown for a configuration that cannot be used; the message names the field and the fix. */
  public static final class InvalidConfigException extends Exception {
    private static final long serialVersionUID = 1L;

    InvalidConfigException(String message) {
      super(message);
    }
  }

  /**
   * Reads and checks {@code file}. Relative paths in it are resolved against its folder.
   *
   * @throws InvalidConfigException naming the first field that is wrong
   * @throws IOException if the file cannot be read
   */
  public static HostConfig read(Path file) throws IOException, InvalidConfigException {
    long size = Files.size(file);
    if (size > FILE_BYTES_MAX) {
      throw new InvalidConfigException(file + " is " + size + " bytes; a host configuration is at most "
          + FILE_BYTES_MAX + " bytes");
    }
    JsonNode root;
    try {
      root = new ObjectMapper().readTree(Files.readAllBytes(file));
    } catch (JsonProcessingException e) {
      throw new InvalidConfigException(file + " is not valid JSON: " + e.getOriginalMessage()
          + " (line " + e.getLocation().getLineNr() + ")");
    }
    Path base = file.toAbsolutePath().getParent();
    return parse(root, base, file.toString());
  }

  static HostConfig parse(@Nullable JsonNode root, Path base, String where) throws InvalidConfigException {
    Fields f = new Fields(root, where, "");
    f.only("hostName", "stateFolder", "tls", "replicaServer", "nbd", "admin", "machines");
    String hostName = f.text("hostName");
    if (!hostName.matches("[A-Za-z0-9.-]{1,253}") || hostName.startsWith(".") || hostName.startsWith("-")) {
      throw f.invalid("hostName", "'" + hostName + "' is not a DNS name; write this host's name as its"
          + " certificate names it, e.g. hv1.contoso.com");
    }
    Path state = base.resolve(f.text("stateFolder"));
    Fields tls = f.object("tls");
    tls.only("certificate", "key", "trust");
    Tls t = new Tls(base.resolve(tls.text("certificate")), base.resolve(tls.text("key")),
        base.resolve(tls.text("trust")));
    Optional<ReplicaServer> server = Optional.empty();
    if (f.has("replicaServer")) {
      Fields r = f.object("replicaServer");
      r.only("listen", "storage");
      String listen = r.text("listen");
      int colon = listen.lastIndexOf(':');
      int port = colon < 1 ? -1 : port(listen.substring(colon + 1));
      if (port < 1) {
        throw r.invalid("listen", "'" + listen + "' is not HOST:PORT, e.g. 0.0.0.0:443");
      }
      server = Optional.of(new ReplicaServer(listen.substring(0, colon), port, base.resolve(r.text("storage"))));
    }
    Fields n = f.object("nbd");
    n.only("unixSocket", "tcp");
    Optional<String> tcpHost = Optional.empty();
    int tcpPort = 0;
    if (n.has("tcp")) {
      String tcp = n.text("tcp");
      int colon = tcp.lastIndexOf(':');
      tcpPort = colon < 1 ? -1 : port(tcp.substring(colon + 1));
      if (tcpPort < 0) {
        throw n.invalid("tcp", "'" + tcp + "' is not HOST:PORT, e.g. 127.0.0.1:10809");
      }
      tcpHost = Optional.of(tcp.substring(0, colon));
    }
    Nbd nbd = new Nbd(base.resolve(n.text("unixSocket")), tcpHost, tcpPort);
    Optional<Admin> admin = Optional.empty();
    if (f.has("admin")) {
      Fields a = f.object("admin");
      a.only("unixSocket", "group");
      String group = a.text("group");
      if (!group.matches("[A-Za-z_][A-Za-z0-9_.-]{0,31}")) {
        throw a.invalid("group", "'" + (group.length() > 40 ? group.substring(0, 40) + "..." : group)
            + "' is not a Unix group name; name the group whose members administer this host");
      }
      admin = Optional.of(new Admin(base.resolve(a.text("unixSocket")), group));
    }
    List<Machine> machines = new ArrayList<>();
    Set<String> names = new HashSet<>();
    Set<UUID> ids = new HashSet<>();
    Set<Path> paths = new HashSet<>();
    List<Fields> list = f.array("machines", MACHINES_MAX);
    for (int i = 0; i < list.size(); i++) {
      Fields m = list.get(i);
      m.only("name", "id", "disks");
      String name = m.text("name");
      if (!NAME.matcher(name).matches()) {
        throw m.invalid("name", "'" + name + "' is not a machine name; use letters, digits, '.', '_' and '-',"
            + " at most 63, starting with a letter or digit");
      }
      if (!names.add(name.toLowerCase(Locale.ROOT))) {
        throw m.invalid("name", "'" + name + "' names two machines; give each machine its own name");
      }
      UUID id = m.has("id") ? m.uuid("id") : UUID.nameUUIDFromBytes(("replica-vm:" + name).getBytes(
          java.nio.charset.StandardCharsets.UTF_8));
      if (!ids.add(id)) {
        throw m.invalid("id", id + " is the id of two machines; give each machine its own id");
      }
      List<Disk> disks = new ArrayList<>();
      List<Fields> dl = m.array("disks", DISKS_MAX);
      if (dl.isEmpty()) {
        throw m.invalid("disks", "is empty; name the machine's disk files, the boot disk first");
      }
      for (int d = 0; d < dl.size(); d++) {
        Fields disk = dl.get(d);
        disk.only("path", "id", "sectorSize");
        Path path = base.resolve(disk.text("path")).toAbsolutePath().normalize();
        if (!paths.add(path)) {
          throw disk.invalid("path", path + " is given twice; two writers of one disk file would corrupt it");
        }
        UUID diskId = disk.has("id") ? disk.uuid("id") : UUID.nameUUIDFromBytes(("replica-disk:" + id + ":" + d)
            .getBytes(java.nio.charset.StandardCharsets.UTF_8));
        if (!ids.add(diskId)) {
          throw disk.invalid("id", diskId + " is used twice; give each disk its own id");
        }
        int sector = disk.has("sectorSize") ? disk.integer("sectorSize") : 512;
        if (sector != 512 && sector != 4096) {
          throw disk.invalid("sectorSize", sector + " is not a logical sector size; write 512 or 4096");
        }
        String lower = path.getFileName().toString().toLowerCase(Locale.ROOT);
        disks.add(new Disk(path, diskId, lower.endsWith(".vhdx"), sector));
      }
      machines.add(new Machine(name, id, disks));
    }
    return new HostConfig(hostName, state, t, server, nbd, admin, machines);
  }

  private static int port(String text) {
    try {
      int p = Integer.parseInt(text);
      return p >= 0 && p <= 65535 ? p : -1;
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /** The fields of one JSON object, with errors that say where they are. */
  private static final class Fields {
    private final JsonNode node;
    private final String where;
    private final String path;

    Fields(@Nullable JsonNode node, String where, String path) throws InvalidConfigException {
      if (node == null || !node.isObject()) {
        throw new InvalidConfigException(where + ": " + (path.isEmpty() ? "the file" : path)
            + " must be a JSON object {...}");
      }
      this.node = node;
      this.where = where;
      this.path = path;
    }

    private String at(String field) {
      return path.isEmpty() ? field : path + "." + field;
    }

    InvalidConfigException invalid(String field, String why) {
      return new InvalidConfigException(where + ": " + at(field) + " " + why);
    }

    void only(String... known) throws InvalidConfigException {
      Set<String> k = Set.of(known);
      for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
        String name = it.next();
        if (!k.contains(name)) {
          String shown = name.length() > 40 ? name.substring(0, 40) + "..." : name;
          throw new InvalidConfigException(where + ": " + at(shown.replaceAll("[^\\x20-\\x7e]", "?"))
              + " is not a setting here; known: " + String.join(", ", known));
        }
      }
    }

    boolean has(String field) {
      return node.has(field) && !node.get(field).isNull();
    }

    String text(String field) throws InvalidConfigException {
      JsonNode v = node.get(field);
      if (v == null || v.isNull()) {
        throw invalid(field, "is missing");
      }
      if (!v.isTextual() || v.asText().isBlank()) {
        throw invalid(field, "must be a non-empty string");
      }
      return v.asText();
    }

    int integer(String field) throws InvalidConfigException {
      JsonNode v = node.get(field);
      if (v == null || !v.canConvertToInt() || !v.isIntegralNumber()) {
        throw invalid(field, "must be a whole number");
      }
      return v.asInt();
    }

    UUID uuid(String field) throws InvalidConfigException {
      String t = text(field);
      try {
        return UUID.fromString(t);
      } catch (IllegalArgumentException e) {
        throw invalid(field, "'" + (t.length() > 40 ? t.substring(0, 40) + "..." : t)
            + "' is not a UUID, e.g. 5f0c3f4e-8d0b-4c55-9d6a-0a4f2c1e7b01");
      }
    }

    Fields object(String field) throws InvalidConfigException {
      if (!has(field)) {
        throw invalid(field, "is missing");
      }
      return new Fields(node.get(field), where, at(field));
    }

    List<Fields> array(String field, int max) throws InvalidConfigException {
      JsonNode v = node.get(field);
      if (v == null || v.isNull()) {
        return List.of();
      }
      if (!v.isArray()) {
        throw invalid(field, "must be a JSON array [...]");
      }
      if (v.size() > max) {
        throw invalid(field, "has " + v.size() + " entries; at most " + max);
      }
      List<Fields> out = new ArrayList<>();
      for (int i = 0; i < v.size(); i++) {
        out.add(new Fields(v.get(i), where, at(field) + "[" + i + "]"));
      }
      return out;
    }
  }
}
