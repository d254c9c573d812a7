package io.replica.host;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.replica.api.AuthenticationType;
import io.replica.api.ChangeTracker;
import io.replica.api.DiskId;
import io.replica.api.NotFoundException;
import io.replica.api.ReplicaServerSettings;
import io.replica.api.ReplicationManager;
import io.replica.api.ReplicationSettings;
import io.replica.api.VirtualMachine;
import io.replica.api.VmDisk;
import io.replica.api.VmId;
import io.replica.core.ReplicaEngine;
import io.replica.host.nbd.NbdServer;
import io.replica.spi.storage.VirtualDisk;
import io.replica.spi.time.Clock;
import io.replica.spi.time.Scheduler;
import io.replica.storage.vhdx.DirectoryStateStore;
import io.replica.storage.vhdx.DirectoryStorageProvider;
import io.replica.storage.vhdx.RawFileDisk;
import io.replica.storage.vhdx.VhdxDisk;
import io.replica.transport.netty.NettyTransport;
import io.replica.transport.netty.TlsSettings;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One host running Replica as a service: the engine with mutual TLS and VHDX storage, the replica
 * server role when configured, and the machines of {@link HostConfig} with their disks exported
 * over NBD, so that unmodified QEMU writes through the change tracker once a machine replicates.
 * What the host was asked to replicate is kept in its state folder; a restart enables it again
 * and the engine resumes from its saved tracking state, without a new initial replication.
 */
public final class HostService implements io.replica.host.admin.MachineCatalog, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(HostService.class);
  private static final String REPLICATION_FILE = "replication.json";

  private final HostConfig config;
  private final ScheduledExecutorService executor;
  private final NettyTransport transport;
  /** The replica role's storage locations; the host owns it and closes it last. */
  private final DirectoryStorageProvider replicaStorage = new DirectoryStorageProvider();
  private final ReplicationManager engine;
  private final Map<String, Running> machines = new LinkedHashMap<>();
  /** Machines that came up on this host by a (test) failover, exported while they exist. */
  private final Map<VmId, Running> attached = new LinkedHashMap<>();
  private final Path hostState;
  private final DirectoryStateStore primaryState;
  private final java.nio.channels.FileChannel lockFile;
  private final ObjectMapper json = new ObjectMapper();
  private @Nullable NbdServer nbd;
  private io.replica.host.admin.@Nullable AdminServer admin;

  /** A machine of the configuration, its disks open, as guests reach them. */
  private record Running(VirtualMachine vm, List<GuestDisk> disks) {}

  private HostService(HostConfig config, java.nio.channels.FileChannel lockFile, TlsSettings tls) throws IOException {
    this.config = config;
    this.lockFile = lockFile;
    this.hostState = Files.createDirectories(config.stateFolder().resolve("host"));
    this.primaryState = new DirectoryStateStore(config.stateFolder().resolve("primary"));
    String me = config.hostName();
    this.transport = NettyTransport.builder().hostName(me).tls(tls)
        .authorizer(identity -> identity.equalsIgnoreCase(me)
            ? Optional.of("replica server " + me + " rejected primary '" + identity + "': that is this host"
                + " (a machine cannot replicate to its own host; choose another replica server)")
            : Optional.empty())
        .build();
    this.executor = Executors.newScheduledThreadPool(2, r -> {
      Thread t = new Thread(r, "replica-host-engine");
      t.setDaemon(true);
      return t;
    });
    ReplicaEngine.Builder b = ReplicaEngine.builder().hostName(me).clock(Clock.system())
        .scheduler(Scheduler.of(executor)).transport(transport).storage(replicaStorage)
        .primaryState(primaryState);
    config.replicaServer().ifPresent(r -> b.listenHost(r.listenHost()));
    try {
      this.engine = b.build();
    } catch (RuntimeException e) {
      transport.close();
      executor.shutdownNow();
      throw e;
    }
  }

  /**
   * Starts the host: the engine, the replica server role, every machine's disks, the replication
   * the host was asked for before a restart, then the NBD listeners.
   *
   * @throws IOException if a file, folder or port cannot be used; nothing keeps running then
   */
  public static HostService start(HostConfig config) throws IOException {
    // One service per state folder: a second one would track and send the same machines.
    Path host = Files.createDirectories(config.stateFolder().resolve("host"));
    java.nio.channels.FileChannel lock = java.nio.channels.FileChannel.open(host.resolve("lock"),
        java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE);
    HostService s;
    try {
      java.nio.channels.FileLock held;
      try {
        held = lock.tryLock();
      } catch (java.nio.channels.OverlappingFileLockException e) {
        held = null; // another host of this JVM
      }
      if (held == null) {
        throw new IOException("another replica host runs with the state folder " + config.stateFolder()
            + "; stop it first, or give this one its own state folder");
      }
      TlsSettings tls = TlsSettings.fromPemFiles(config.tls().certificate(), config.tls().key(), config.tls().trust());
      s = new HostService(config, lock, tls);
    } catch (IOException | RuntimeException e) {
      lock.close();
      throw e;
    }
    try {
      s.startUp();
      return s;
    } catch (IOException | RuntimeException e) {
      s.close();
      throw e;
    }
  }

  private void startUp() throws IOException {
    if (config.replicaServer().isPresent()) {
      HostConfig.ReplicaServer r = config.replicaServer().get();
      Files.createDirectories(r.storage());
      engine.setReplicaServerSettings(ReplicaServerSettings.builder()
          .allowedAuthenticationTypes(EnumSet.of(AuthenticationType.CERTIFICATE))
          .certificatePort(r.port())
          .allowAnyAuthenticatedServer(r.storage().toAbsolutePath().normalize().toString())
          .build());
    }
    for (HostConfig.Machine m : config.machines()) {
      List<GuestDisk> disks = new ArrayList<>();
      List<VmDisk> vmDisks = new ArrayList<>();
      for (HostConfig.Disk d : m.disks()) {
        VirtualDisk own;
        try {
          own = d.vhdx() ? VhdxDisk.open(d.path(), false) : RawFileDisk.open(d.path(), d.sectorBytes(), false);
        } catch (IllegalArgumentException | IOException e) {
          for (GuestDisk opened : disks) {
            closeQuietly(m.name(), opened);
          }
          throw new IOException("machine '" + m.name() + "': cannot open its disk " + d.path() + ": "
              + (e instanceof IllegalArgumentException ? e.getMessage() : e.toString()), e);
        }
        GuestDisk g = new GuestDisk(own);
        disks.add(g);
        vmDisks.add(new VmDisk(DiskId.of(d.id()), own, vmDisks.isEmpty()));
      }
      machines.put(m.name(), new Running(new VirtualMachine(VmId.of(m.id()), m.name(), vmDisks), disks));
    }
    resumeReplication();
    NbdServer.Builder nb = NbdServer.builder().unixSocket(config.nbd().unixSocket());
    config.nbd().tcpHost().ifPresent(h -> nb.tcp(new InetSocketAddress(h, config.nbd().tcpPort()))
        .tls(tlsFor()));
    for (Running r : machines.values()) {
      for (int i = 0; i < r.disks().size(); i++) {
        nb.export(exportName(r.vm().name(), i), r.disks().get(i), false);
      }
    }
    Files.createDirectories(config.nbd().unixSocket().toAbsolutePath().getParent());
    nbd = nb.start();
    if (config.admin().isPresent()) {
      HostConfig.Admin a = config.admin().get();
      Files.createDirectories(a.unixSocket().toAbsolutePath().getParent());
      admin = io.replica.host.admin.AdminServer.builder(engine, this).unixSocket(a.unixSocket(), a.group()).start();
    }
  }

  /** The management API's server, when the configuration has one. */
  public Optional<io.replica.host.admin.AdminServer> admin() {
    return Optional.ofNullable(admin);
  }

  private TlsSettings tlsFor() {
    try {
      return TlsSettings.fromPemFiles(config.tls().certificate(), config.tls().key(), config.tls().trust());
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** The NBD export name of a machine's disk: {@code web01-disk0} for the first disk of web01. */
  public static String exportName(String machine, int disk) {
    return machine + "-disk" + disk;
  }

  /**
   * Enables again what this host replicated before it stopped; the engine resumes each from its
   * state. A machine whose kept settings are gone has its engine state dropped, so that enabling
   * it again starts with a full initial replication: writes made meanwhile were not tracked.
   */
  private void resumeReplication() throws IOException {
    ObjectNode saved = readReplication();
    for (Running r : machines.values()) {
      String id = r.vm().id().toString();
      JsonNode kept = saved.get(id);
      if (kept == null) {
        List<String> stale = primaryState.list(id + "/"); // the engine keeps a machine's state under its id
        if (!stale.isEmpty()) {
          LOG.warn("'{}' has tracking state but no kept replication settings; the state is dropped, and enabling"
              + " it again starts with a full initial replication", r.vm().name());
          for (String name : stale) {
            primaryState.delete(name);
          }
        }
        continue;
      }
      ReplicationSettings settings;
      try {
        if (!kept.isObject()) {
          throw new IllegalArgumentException("not a JSON object");
        }
        settings = io.replica.host.admin.SettingsJson.fromJson((ObjectNode) kept);
      } catch (RuntimeException ex) {
        throw new IOException("the kept replication settings of '" + r.vm().name() + "' in "
            + hostState.resolve(REPLICATION_FILE) + " cannot be used (" + ex.getMessage() + "); restore the file,"
            + " or remove the machine's entry and its folder " + config.stateFolder().resolve("primary").resolve(id)
            + " to replicate it afresh");
      }
      CompletableFuture<Void> f = engine.enableReplication(r.vm(), settings);
      // Resumed or not, its tracker must be in place before any guest can write.
      Optional<ChangeTracker> tracker = awaitTracker(r.vm().id(), f);
      if (tracker.isEmpty()) {
        throw new IOException("'" + r.vm().name() + "' cannot resume replication: " + (f.isCompletedExceptionally()
            ? describe(f) : "the engine did not take it within 30 s") + "; its disks are not exported untracked");
      }
      track(r, tracker.get());
      LOG.info("'{}' resumes replication to {}", r.vm().name(), settings.replicaServer());
    }
    for (Iterator<String> it = saved.fieldNames(); it.hasNext(); ) {
      String id = it.next();
      if (machines.values().stream().noneMatch(r -> r.vm().id().toString().equals(id))) {
        LOG.warn("machine {} replicated before the restart but is no longer in the configuration; its replication"
            + " stays off", id);
      }
    }
  }

  /**
   * The machine's tracker, once the engine has one. The API offers no event or future for that
   * moment (the enable future may wait for the replica server, or fail while the tracker stays), so
   * this looks again while the enable is pending; the engine registers the tracker before
   * {@code enableReplication} returns, so the first look normally finds it.
   */
  private Optional<ChangeTracker> awaitTracker(VmId vm, CompletableFuture<Void> enabled) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (true) {
      try {
        return Optional.of(engine.changeTracker(vm));
      } catch (NotFoundException e) {
        if ((enabled.isDone() && enabled.isCompletedExceptionally()) || System.nanoTime() > deadline) {
          return Optional.empty();
        }
      }
      try {
        enabled.get(20, TimeUnit.MILLISECONDS);
      } catch (java.util.concurrent.TimeoutException | java.util.concurrent.ExecutionException e) {
        // not registered yet, or failed: look again
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return Optional.empty();
      }
    }
  }

  private static String describe(CompletableFuture<?> f) {
    try {
      f.join();
      return "done";
    } catch (RuntimeException e) {
      Throwable t = e.getCause() != null ? e.getCause() : e;
      return String.valueOf(t.getMessage());
    }
  }

  /** Routes the replicated disks' I/O through the tracker; a disk not replicated stays on its own. */
  private static void track(Running r, ChangeTracker tracker) {
    for (int i = 0; i < r.disks().size(); i++) {
      VirtualDisk tracked;
      try {
        tracked = tracker.trackedDisk(r.vm().disks().get(i).id());
      } catch (NotFoundException e) {
        continue;
      }
      r.disks().get(i).switchTo(tracked);
    }
  }

  /** The engine, for every operation the host does not wrap. */
  public ReplicationManager engine() {
    return engine;
  }

  /** The machines this host runs, in configuration order. */
  @Override
  public List<VirtualMachine> machines() {
    return machines.values().stream().map(Running::vm).toList();
  }

  /** The machine named {@code name} (case-insensitive), or with that id. */
  @Override
  public Optional<VirtualMachine> machine(String nameOrId) {
    for (Running r : machines.values()) {
      if (r.vm().name().equalsIgnoreCase(nameOrId) || r.vm().id().toString().equalsIgnoreCase(nameOrId)) {
        return Optional.of(r.vm());
      }
    }
    return Optional.empty();
  }

  /** The NBD server: its socket and TCP address. */
  public NbdServer nbd() {
    NbdServer n = nbd;
    if (n == null) {
      throw new IllegalStateException("the host has not started its NBD server");
    }
    return n;
  }

  /**
   * Enables replication of a configured machine (Enable-VMReplication); from then on its guests'
   * writes go through the change tracker. Initial replication is the next step
   * ({@link ReplicationManager#startInitialReplication}). The settings are kept, so a restart of
   * this host resumes the relationship.
   *
   * @return completes when the replica server accepted the machine
   * @throws NotFoundException if the configuration has no such machine
   */
  public CompletableFuture<Void> enable(String machine, ReplicationSettings settings) {
    return enable(engine, running(machine).vm(), settings);
  }

  @Override
  public CompletableFuture<Void> enable(ReplicationManager manager, VirtualMachine vm, ReplicationSettings settings) {
    Running r = running(vm.name());
    CompletableFuture<Void> done = new CompletableFuture<>();
    engine.enableReplication(r.vm(), settings).whenCompleteAsync((v, failure) -> {
      synchronized (this) {
        // A resumed relationship keeps tracking even when the replica does not answer yet.
        Optional<ChangeTracker> tracker = trackerOf(r.vm().id());
        tracker.ifPresent(t -> track(r, t));
        if (tracker.isEmpty()) {
          done.completeExceptionally(failure != null ? failure : new IllegalStateException("no change tracker"));
          return;
        }
        try {
          saveReplication(r.vm().id(), settings);
        } catch (IOException e) {
          engine.removeReplication(r.vm().id()).whenComplete((x, y) -> r.disks().forEach(GuestDisk::untrack));
          done.completeExceptionally(new IOException("cannot keep the replication settings of '" + r.vm().name()
              + "' in " + hostState + " (" + e.getMessage() + "), so a restart could not resume it; replication"
              + " was removed again: free space or fix the folder, then enable it again", e));
          return;
        }
      }
      if (failure != null) {
        done.completeExceptionally(failure);
      } else {
        done.complete(null);
      }
    }, executor);
    return done;
  }

  private Optional<ChangeTracker> trackerOf(VmId vm) {
    try {
      return Optional.of(engine.changeTracker(vm));
    } catch (NotFoundException e) {
      return Optional.empty();
    }
  }

  /**
   * Exports the disks of a test machine or a failed-over machine as {@code <name>-disk<N>}, so
   * that the operator can boot or inspect it (a test machine's name ends in " - Test").
   */
  @Override
  public synchronized void attached(VirtualMachine machine) {
    NbdServer n = nbd;
    if (n == null || attached.containsKey(machine.id())) {
      return;
    }
    List<GuestDisk> disks = new ArrayList<>();
    for (int i = 0; i < machine.disks().size(); i++) {
      GuestDisk g = new GuestDisk(machine.disks().get(i).disk());
      try {
        n.addExport(exportName(machine.name(), i), g, false);
      } catch (RuntimeException e) { // a name taken: the machine is up, only not exported
        LOG.warn("cannot export '{}' over NBD: {}", machine.name(), e.getMessage());
        break;
      }
      disks.add(g);
    }
    attached.put(machine.id(), new Running(machine, disks));
    LOG.info("'{}' is exported over NBD as {}", machine.name(), exportName(machine.name(), 0) + (disks.size() > 1
        ? " and " + (disks.size() - 1) + " more" : ""));
  }

  /** Stops exporting a machine {@link #attached} earlier; its clients are disconnected. */
  @Override
  public synchronized void detached(VmId machine) {
    Running r = attached.remove(machine);
    NbdServer n = nbd;
    if (r == null || n == null) {
      return;
    }
    for (int i = 0; i < r.disks().size(); i++) {
      n.removeExport(exportName(r.vm().name(), i)).join();
    }
  }

  /** A failed-over machine replicates back: its exports write through the change tracker from now on. */
  @Override
  public synchronized void reversed(ReplicationManager manager, VmId vm) {
    Running r = attached.get(vm);
    if (r != null) {
      track(r, engine.changeTracker(vm));
    }
  }

  @Override
  public CompletableFuture<Void> remove(ReplicationManager manager, VmId vm) {
    Optional<VirtualMachine> mine = machine(vm.toString());
    return mine.isPresent() ? remove(mine.get().name()) : engine.removeReplication(vm);
  }

  /**
   * Removes replication of a configured machine (Remove-VMReplication): its guests write to its own
   * disks again, untracked, and a restart does not enable it again.
   */
  public CompletableFuture<Void> remove(String machine) {
    Running r = running(machine);
    // The engine first: until it has removed the relationship, writes stay tracked.
    return engine.removeReplication(r.vm().id()).thenApplyAsync(v -> {
      synchronized (this) {
        r.disks().forEach(GuestDisk::untrack);
        try {
          saveReplication(r.vm().id(), null);
        } catch (IOException e) {
          throw new java.io.UncheckedIOException("replication of '" + r.vm().name() + "' was removed, but "
              + hostState.resolve(REPLICATION_FILE) + " could not be updated (" + e.getMessage() + "); after a"
              + " restart its tracking state is dropped", e);
        }
        return null;
      }
    }, executor);
  }

  private Running running(String machine) {
    return machine(machine).map(vm -> machines.get(vm.name()))
        .orElseThrow(() -> new NotFoundException("this host runs no machine '" + machine + "'; it runs "
            + machines.keySet() + " (add it to the host configuration)"));
  }

  private ObjectNode readReplication() throws IOException {
    Path f = hostState.resolve(REPLICATION_FILE);
    if (!Files.exists(f)) {
      return json.createObjectNode();
    }
    JsonNode n = json.readTree(Files.readAllBytes(f));
    if (n == null || !n.isObject()) {
      throw new IOException(f + " is not a JSON object; restore it or delete it (then enable the machines"
          + " again)");
    }
    return (ObjectNode) n;
  }

  private synchronized void saveReplication(VmId machine, @Nullable ReplicationSettings settings)
      throws IOException {
    ObjectNode all = readReplication();
    if (settings == null) {
      all.remove(machine.toString());
    } else {
      all.set(machine.toString(), io.replica.host.admin.SettingsJson.toJson(settings));
    }
    Path f = hostState.resolve(REPLICATION_FILE);
    Path tmp = hostState.resolve(REPLICATION_FILE + ".tmp");
    Files.write(tmp, json.writerWithDefaultPrettyPrinter().writeValueAsString(all).getBytes(StandardCharsets.UTF_8));
    try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(tmp,
        java.nio.file.StandardOpenOption.WRITE)) {
      ch.force(true);
    }
    Files.move(tmp, f, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  /** Stops the NBD listeners, the engine and the transport, and closes the machines' disks. */
  @Override
  public synchronized void close() {
    io.replica.host.admin.AdminServer a = admin;
    if (a != null) {
      a.close();
    }
    NbdServer n = nbd;
    if (n != null) {
      n.close();
    }
    engine.close();
    transport.close();
    executor.shutdownNow();
    for (Running r : machines.values()) {
      for (GuestDisk d : r.disks()) {
        closeQuietly(r.vm().name(), d);
      }
    }
    try {
      replicaStorage.close(); // after the engine, which closed the disks it opened
    } catch (IOException | RuntimeException e) {
      LOG.warn("closing the replica storage locations failed: {}", e.toString());
    }
    try {
      lockFile.close(); // releases the state folder
    } catch (IOException e) {
      LOG.warn("cannot release the state folder's lock: {}", e.toString());
    }
  }

  private static void closeQuietly(String machine, GuestDisk d) {
    try {
      d.flush();
    } catch (IOException | RuntimeException e) {
      LOG.warn("flushing a disk of '{}' failed: {}", machine, e.toString());
    }
    try {
      d.close();
    } catch (IOException | RuntimeException e) {
      LOG.warn("closing a disk of '{}' failed: {}", machine, e.toString());
    }
  }
}
