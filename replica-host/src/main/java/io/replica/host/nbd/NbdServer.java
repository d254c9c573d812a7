package io.replica.host.nbd;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.nio.NioServerDomainSocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.ssl.SslContext;
import io.replica.host.internal.Listeners;
import io.replica.spi.storage.VirtualDisk;
import io.replica.transport.netty.TlsSettings;
import java.io.Closeable;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLException;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An NBD server (fixed newstyle) that offers {@link VirtualDisk}s to unmodified clients: QEMU,
 * qemu-img, qemu-io, nbdcopy, the Linux kernel's nbd-client. On a replication host the exports
 * are tracked disks, so every guest write passes the change tracker; the server itself knows
 * nothing about replication.
 *
 * <p>It listens on a Unix domain socket (mode 0660, removed on close) and/or TCP. TCP may require
 * TLS, negotiated with NBD_OPT_STARTTLS and mutual: the client must present a certificate issued
 * by a trusted CA. Exports can be added and removed while it runs; removing one closes its
 * clients. Disk I/O runs on an executor, never on the network threads. What the server supports,
 * its limits and its alignment rule are in {@code docs/nbd.md}.
 *
 * <pre>{@code
 * try (NbdServer nbd = NbdServer.builder()
 *     .unixSocket(Path.of("/run/replica/nbd.sock"))
 *     .export("web01-disk0", trackedDisk, false)
 *     .start()) {
 *   // qemu-system-x86_64 -drive file=nbd+unix:///web01-disk0?socket=/run/replica/nbd.sock
 * }
 * }</pre>
 */
public final class NbdServer implements Closeable {
  private static final Logger LOG = LoggerFactory.getLogger(NbdServer.class);

  private final Map<String, Export> exports = new ConcurrentHashMap<>();
  private final Set<NbdConnection> connections = ConcurrentHashMap.newKeySet();
  private final Listeners listeners;
  private final Executor executor;
  private final @Nullable ExecutorService ownExecutor;
  private final long maxInFlightBytes;
  private final Duration negotiationTimeout;
  private @Nullable Path unixSocket;
  private @Nullable InetSocketAddress tcpAddress;

  private NbdServer(Builder b) {
    this.listeners = new Listeners("NBD server", b.eventLoopThreads);
    if (b.executor != null) {
      this.executor = b.executor;
      this.ownExecutor = null;
    } else {
      AtomicInteger n = new AtomicInteger();
      ExecutorService pool = Executors.newFixedThreadPool(4, r -> {
        Thread t = new Thread(r, "nbd-io-" + n.incrementAndGet());
        t.setDaemon(true);
        return t;
      });
      this.executor = pool;
      this.ownExecutor = pool;
    }
    this.maxInFlightBytes = b.maxInFlightBytes;
    this.negotiationTimeout = b.negotiationTimeout;
  }

  /** A builder: choose at least one listener, then {@link Builder#start()}. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Offers {@code disk} under {@code name} from now on. The server never closes the disk: it
   * belongs to the caller, who may close it once {@link #removeExport} has completed.
   *
   * @param readOnly whether clients may only read (a read-only disk is read-only anyway)
   * @throws IllegalArgumentException if the name is longer than 4096 bytes of UTF-8
   * @throws IllegalStateException if an export of that name exists or the server is closed
   */
  public void addExport(String name, VirtualDisk disk, boolean readOnly) {
    addExport(name, disk, readOnly, "");
  }

  /**
   * Offers {@code disk} with a description that clients may show (NBD_INFO_DESCRIPTION).
   *
   * @throws IllegalArgumentException if the name or description is longer than 4096 bytes
   * @throws IllegalStateException if an export of that name exists or the server is closed
   */
  public void addExport(String name, VirtualDisk disk, boolean readOnly, String description) {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(disk, "disk");
    Objects.requireNonNull(description, "description");
    if (name.getBytes(StandardCharsets.UTF_8).length > 4096
        || description.getBytes(StandardCharsets.UTF_8).length > 4096) {
      throw new IllegalArgumentException("NBD export name and description are at most 4096"
          + " bytes of UTF-8; shorten '" + Nbd.printable(name) + "'");
    }
    if (listeners.closed()) {
      throw new IllegalStateException("NBD server is closed; cannot add export '" + name + "'");
    }
    Export e = new Export(name, disk, readOnly, description);
    if (exports.putIfAbsent(name, e) != null) {
      throw new IllegalStateException("NBD export '" + name + "' exists already; remove it"
          + " first or choose another name");
    }
  }

  /**
   * Stops offering an export and closes the connections that use it.
   *
   * @return completes when those connections are closed and none of their I/O runs any more,
   *     after which the caller may close the disk; completes at once if there is no such export
   */
  public CompletableFuture<Void> removeExport(String name) {
    Export e = exports.remove(Objects.requireNonNull(name, "name"));
    if (e == null) {
      return CompletableFuture.completedFuture(null);
    }
    List<CompletableFuture<Void>> done = new ArrayList<>();
    for (NbdConnection c : e.remove()) {
      done.add(c.closed());
      c.close();
    }
    return CompletableFuture.allOf(done.toArray(new CompletableFuture<?>[0]));
  }

  /** The names of the exports, sorted. */
  public Set<String> exportNames() {
    return new TreeSet<>(exports.keySet());
  }

  /** The Unix socket the server listens on, if any. */
  public Optional<Path> unixSocket() {
    return Optional.ofNullable(unixSocket);
  }

  /** The TCP address the server listens on (with the port chosen if 0 was asked), if any. */
  public Optional<InetSocketAddress> tcpAddress() {
    return Optional.ofNullable(tcpAddress);
  }

  List<NbdConnection> connections() {
    return List.copyOf(connections);
  }

  @Nullable Export export(String name) {
    return exports.get(name);
  }

  /**
   * Closes the listeners and every connection, and removes the socket file. Exports' disks stay
   * open: they belong to the caller.
   */
  @Override
  public void close() {
    boolean first = listeners.close(() -> {
      List<CompletableFuture<Void>> done = new ArrayList<>();
      for (NbdConnection c : connections) {
        done.add(c.closed());
        c.close();
      }
      CompletableFuture.allOf(done.toArray(new CompletableFuture<?>[0])).join();
    });
    if (first && ownExecutor != null) {
      ownExecutor.shutdown();
    }
  }

  private ChannelInitializer<Channel> initializer(@Nullable SslContext tls) {
    return new ChannelInitializer<>() {
      @Override
      protected void initChannel(Channel ch) {
        if (listeners.closed()) {
          ch.close();
          return;
        }
        NbdConnection c = new NbdConnection(NbdServer.this, tls, new SerialTasks(executor),
            maxInFlightBytes, negotiationTimeout);
        connections.add(c);
        ch.closeFuture().addListener(f -> connections.remove(c));
        ch.pipeline().addLast("nbd", c);
      }
    };
  }

  private void bindTcp(InetSocketAddress address, @Nullable SslContext tls) throws IOException {
    tcpAddress = listeners.bindTcp(new ServerBootstrap().group(listeners.group())
        .channel(NioServerSocketChannel.class).childOption(ChannelOption.TCP_NODELAY, true)
        .childHandler(initializer(tls)), address);
    LOG.info("NBD server listens on {}{}", tcpAddress, tls == null ? "" : " (TLS required)");
  }

  private void bindUnix(Path path) throws IOException {
    unixSocket = listeners.bindUnix(new ServerBootstrap().group(listeners.group())
        .channel(NioServerDomainSocketChannel.class).childHandler(initializer(null)), path,
        PosixFilePermissions.fromString("rw-rw----"), null);
    LOG.info("NBD server listens on {}", unixSocket);
  }

  /** Settings of an {@link NbdServer}. */
  public static final class Builder {
    private @Nullable Path unixSocket;
    private @Nullable InetSocketAddress tcp;
    private @Nullable TlsSettings tlsSettings;
    private @Nullable Executor executor;
    private long maxInFlightBytes = 64L * 1024 * 1024;
    private int eventLoopThreads = 1;
    private Duration negotiationTimeout = Duration.ofSeconds(30);
    private final Map<String, Export> exports = new LinkedHashMap<>();

    private Builder() {}

    /** Listens on a Unix domain socket at {@code path}, created with mode 0660. */
    public Builder unixSocket(Path path) {
      this.unixSocket = Objects.requireNonNull(path, "path");
      return this;
    }

    /** Listens on TCP at {@code address}; port 0 picks a free port ({@link #tcpAddress()}). */
    public Builder tcp(InetSocketAddress address) {
      this.tcp = Objects.requireNonNull(address, "address");
      return this;
    }

    /** Listens on TCP on the loopback interface at {@code port} (0: any free port). */
    public Builder tcp(int port) {
      return tcp(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
    }

    /**
     * Requires TLS on the TCP listener (NBD_OPT_STARTTLS before any export is named): the server
     * presents this host's certificate from {@code settings}, and a client must present a
     * certificate that chains to one of its trusted certificates. Certificates renewed on disk are
     * used from the next handshake on. The Unix socket, guarded by its file mode, stays without TLS.
     */
    public Builder tls(TlsSettings settings) {
      this.tlsSettings = Objects.requireNonNull(settings, "settings");
      return this;
    }

    /**
     * The executor that runs disk I/O (default: four daemon threads owned by the server). It must
     * run tasks on its own threads, not the caller's, or disk I/O would stall the network
     * thread. The server does not shut down an executor it was given.
     */
    public Builder ioExecutor(Executor executor) {
      this.executor = Objects.requireNonNull(executor, "executor");
      return this;
    }

    /**
     * How many bytes of requests one connection may have queued or in progress before the server
     * stops reading from it (default 64 MiB); at least one maximal request always proceeds.
     *
     * @throws IllegalArgumentException if not positive
     */
    public Builder maxInFlightBytesPerConnection(long bytes) {
      if (bytes <= 0) {
        throw new IllegalArgumentException("maxInFlightBytesPerConnection must be positive, was "
            + bytes);
      }
      this.maxInFlightBytes = bytes;
      return this;
    }

    /**
     * How long a client may take from connecting to choosing an export, TLS handshake included
     * (default 30 s); then the server closes the connection, so idle sockets do not pile up.
     *
     * @throws IllegalArgumentException if not positive
     */
    public Builder negotiationTimeout(Duration timeout) {
      if (timeout.isNegative() || timeout.isZero()) {
        throw new IllegalArgumentException("negotiationTimeout must be positive, was " + timeout);
      }
      this.negotiationTimeout = timeout;
      return this;
    }

    /**
     * Network threads (default 1: parsing is cheap, disk I/O runs elsewhere).
     *
     * @throws IllegalArgumentException if not positive
     */
    public Builder eventLoopThreads(int threads) {
      if (threads <= 0) {
        throw new IllegalArgumentException("eventLoopThreads must be positive, was " + threads);
      }
      this.eventLoopThreads = threads;
      return this;
    }

    /**
     * An export present from the start; see {@link NbdServer#addExport}.
     *
     * @throws IllegalStateException if an export of that name was given already
     */
    public Builder export(String name, VirtualDisk disk, boolean readOnly) {
      Export e = new Export(Objects.requireNonNull(name, "name"),
          Objects.requireNonNull(disk, "disk"), readOnly, "");
      if (exports.putIfAbsent(name, e) != null) {
        throw new IllegalStateException("NBD export '" + name + "' was given twice; choose"
            + " another name");
      }
      return this;
    }

    /**
     * Binds the listeners and starts serving.
     *
     * @throws IllegalStateException if no listener was chosen
     * @throws IOException if a listener cannot be bound or the TLS material is unusable
     */
    public NbdServer start() throws IOException {
      if (unixSocket == null && tcp == null) {
        throw new IllegalStateException("NBD server has no listener; call unixSocket(path)"
            + " and/or tcp(address)");
      }
      SslContext tls = null;
      if (tlsSettings != null) {
        if (tcp == null) {
          throw new IllegalStateException("TLS settings given but no TCP listener; call"
              + " tcp(address) or drop tls(...)");
        }
        try {
          tls = tlsSettings.nettyServerContext();
        } catch (SSLException | IllegalArgumentException e) {
          throw new IOException("cannot use the TLS settings " + tlsSettings
              + " for the NBD server: " + e.getMessage(), e);
        }
      }
      NbdServer server = new NbdServer(this);
      for (Export e : exports.values()) {
        server.addExport(e.name, e.disk, e.readOnly, e.description);
      }
      try {
        if (unixSocket != null) {
          server.bindUnix(unixSocket);
        }
        if (tcp != null) {
          server.bindTcp(tcp, tls);
        }
      } catch (IOException | RuntimeException e) {
        server.close();
        throw e;
      }
      return server;
    }
  }
}
