package io.replica.transport.netty;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.traffic.GlobalTrafficShapingHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.replica.api.AuthenticationType;
import io.replica.api.event.ReplicationEvent;
import io.replica.spi.transport.ConnectOptions;
import io.replica.spi.transport.Connection;
import io.replica.spi.transport.Endpoint;
import io.replica.spi.transport.MessageHandler;
import io.replica.spi.transport.Transport;
import io.replica.transport.netty.internal.auth.KerberosAuthenticator;
import io.replica.transport.netty.internal.auth.KerberosLogin;
import io.replica.transport.netty.internal.handler.Admission;
import io.replica.transport.netty.internal.handler.Causes;
import io.replica.transport.netty.internal.handler.ChannelSettings;
import io.replica.transport.netty.internal.handler.ConnectionHandler;
import io.replica.transport.netty.internal.handler.FrameSizeEstimator;
import io.replica.transport.netty.internal.handler.Mailboxes;
import io.replica.transport.netty.internal.handler.PeerAuthenticator;
import io.replica.transport.netty.internal.handler.PlainAuthenticator;
import io.replica.transport.netty.internal.tls.TlsAuthenticator;
import io.replica.transport.netty.internal.tls.TlsContexts;
import java.io.IOException;
import java.net.BindException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.Collections;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import javax.net.ssl.SSLException;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The replication protocol over TCP with Netty (the frames are described in docs/protocol.md):
 * one connection per primary and replica server carries every virtual machine between them, with
 * mutual TLS, optional zstd compression of blocks, heartbeats and back-pressure.
 *
 * <p>Build one per host with {@link #builder()}. With {@link Builder#tls} a peer is who its
 * certificate says (checked as Hyper-V Replica checks certificates: trusted chain, validity, both
 * clientAuth and serverAuth, host name); with {@link Builder#kerberos} who its host principal
 * says (SASL/GSSAPI, mutual); with {@link Builder#plaintext()} a peer is who it claims to be,
 * which is only for tests and networks secured otherwise. A replica server offering both listens
 * on two ports, one per authentication type.
 *
 * <p>Handler callbacks run on a pool of the transport, never on the caller's thread and never on
 * a Netty event loop; the callbacks of one handler never overlap. Messages wait for a slow handler
 * up to the in-flight bound per connection, then the transport stops reading from the socket, so
 * memory stays bounded and the sender sees {@link Connection#isWritable()} turn false.
 *
 * <p>TLS runs on BoringSSL when netty-tcnative ({@code io.netty:netty-tcnative-boringssl-static})
 * is on the class path and loads on this platform, and on the JDK's implementation otherwise
 * ({@link #tlsImplementation()} tells which). The dependency is optional, so the embedder chooses;
 * BoringSSL encrypts faster, which matters on fast links. Either way the certificate checks are
 * the same, because this transport makes them itself after the handshake. To turn BoringSSL off
 * while it is on the class path, call {@link Builder#jdkTls()}, or set Netty's system property
 * {@code io.netty.handler.ssl.noOpenSsl=true}. On the module path, Netty reads netty-tcnative
 * only when it is resolved: add {@code --add-modules io.netty.tcnative.classes.openssl} and the
 * module of the platform's native library (such as
 * {@code io.netty.internal.tcnative.openssl.linux.x86_64}).
 */
public final class NettyTransport implements Transport {
  private static final Logger LOG = LoggerFactory.getLogger(NettyTransport.class);
  private final String hostName;
  private final @Nullable TlsSettings tls;
  private final @Nullable KerberosSettings kerberos;
  private final @Nullable KerberosLogin kerberosLogin;
  private final @Nullable Function<String, InetAddress> resolver;
  private final Set<AuthenticationType> types;
  private final EventLoopGroup group;
  private final ExecutorService callbacks;
  private final ChannelSettings settings;
  private final Admission admission;
  /** Refusals for the bound on unauthenticated connections that were logged, of all counted. */
  private final java.util.concurrent.atomic.AtomicLong refusalsLogged =
      new java.util.concurrent.atomic.AtomicLong();
  private final ChannelGroup channels;
  private final Set<NettyListener> listeners = Collections.synchronizedSet(
      Collections.newSetFromMap(new java.util.IdentityHashMap<>()));
  private final @Nullable SslContext serverContext;
  private final @Nullable SslContext clientContext;
  private final String tlsImplementation;
  private final Clock clock;
  private final @Nullable GlobalTrafficShapingHandler serverShaper;
  private final Pipelines pipelines;
  private final CertificateWatch certificateWatch;
  private volatile boolean closed;

  private NettyTransport(Builder b) {
    this.hostName = Objects.requireNonNull(b.hostName,
        "hostName: call hostName(\"hv1.contoso.com\") on the builder");
    this.tls = b.tls;
    this.kerberos = b.kerberos;
    this.resolver = b.resolver;
    this.clock = b.clock;
    if (b.tls == null && b.kerberos == null && !b.plaintext) {
      throw new IllegalStateException("the transport of '" + hostName + "' has no"
          + " authentication: call tls(TlsSettings) and/or kerberos(KerberosSettings) on the"
          + " builder, or plaintext() for tests");
    }
    if (b.plaintext && (b.tls != null || b.kerberos != null)) {
      throw new IllegalStateException("the transport of '" + hostName + "' is configured both"
          + " plaintext and with TLS or Kerberos; choose one");
    }
    EnumSet<AuthenticationType> t = EnumSet.noneOf(AuthenticationType.class);
    if (b.plaintext) {
      t = EnumSet.allOf(AuthenticationType.class);
    }
    if (b.tls != null) {
      t.add(AuthenticationType.CERTIFICATE);
    }
    if (b.kerberos != null) {
      t.add(AuthenticationType.KERBEROS);
      try {
        this.kerberosLogin = new KerberosLogin(b.kerberos.keytab(), b.kerberos.principal());
      } catch (javax.security.auth.login.LoginException e) {
        throw new IllegalStateException("cannot log in to Kerberos as '"
            + b.kerberos.principal() + "' with keytab " + b.kerberos.keytab() + ": "
            + e.getMessage() + " (check the keytab, the principal and krb5.conf)", e);
      }
    } else {
      this.kerberosLogin = null;
    }
    this.types = Collections.unmodifiableSet(t);
    this.group = new MultiThreadIoEventLoopGroup(b.workerThreads,
        new DefaultThreadFactory("replica-netty-" + hostName, true), NioIoHandler.newFactory());
    this.callbacks = Executors.newCachedThreadPool(
        new DefaultThreadFactory("replica-netty-callback-" + hostName, true));
    this.admission = new Admission(b.unauthenticatedMax, b.unauthenticatedPerAddressMax);
    this.settings = new ChannelSettings(hostName, b.compressionLevel, b.heartbeat,
        b.inFlightBytesMax, new Mailboxes(callbacks), b.authorizer, b.connectionListener,
        b.handshakeTimeout, admission);
    this.channels = new DefaultChannelGroup("replica-" + hostName, GlobalEventExecutor.INSTANCE);
    this.serverShaper = b.bandwidth > 0
        ? new GlobalTrafficShapingHandler(group.next(), b.bandwidth, 0, 100) : null;
    this.certificateWatch = new CertificateWatch(hostName, b.tls, b.clock, b.expiryWarning,
        b.expiryListener);
    boolean nativeTls;
    if (b.tls != null) {
      try {
        TlsContexts contexts = TlsContexts.of(b.tls.source(), b.jdkTls);
        this.serverContext = contexts.server();
        this.clientContext = contexts.client();
        this.tlsImplementation = contexts.implementation();
        nativeTls = contexts.nativeTls();
      } catch (SSLException e) {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        callbacks.shutdown();
        throw new IllegalStateException("cannot set up TLS for '" + hostName + "' with "
            + b.tls + ": " + e.getMessage(), e);
      }
    } else {
      this.serverContext = null;
      this.clientContext = null;
      this.tlsImplementation = "none";
      nativeTls = false;
    }
    this.pipelines = new Pipelines(settings.heartbeat(), serverShaper, b.connectionBandwidth, nativeTls,
        certificateWatch);
    if (b.tls != null) {
      certificateWatch.check();
      group.scheduleAtFixedRate(certificateWatch::check, 1, 1, TimeUnit.HOURS);
    }
  }

  /** Reports {@link ReplicationEvent.CertificateExpiring} while this host's certificate is short. */
  @Override
  public void reportEventsTo(java.util.function.Consumer<? super ReplicationEvent> events) {
    certificateWatch.reportEventsTo(events);
  }

  /**
   * What this transport knows about {@code connection}: its protection and the peer's clock;
   * empty for a connection of another transport.
   */
  public static java.util.Optional<ConnectionDetails> details(io.replica.spi.transport.Connection connection) {
    if (connection instanceof io.replica.transport.netty.internal.handler.NettyConnection n) {
      return java.util.Optional.of(new ConnectionDetails(n.security(), n.peerClockOffset(), n.peerClockUncertainty()));
    }
    return java.util.Optional.empty();
  }

  /** A builder; {@code hostName} and one of {@code tls} or {@code plaintext} are required. */
  public static Builder builder() {
    return new Builder();
  }

  /** The host name this transport claims in every connection. */
  public String hostName() {
    return hostName;
  }

  /**
   * The TLS implementation of this transport's connections, for logs and support: the OpenSSL
   * flavour Netty loaded (such as {@code "BoringSSL"}), {@code "JDK"}, or {@code "none"} for a
   * transport without TLS.
   */
  public String tlsImplementation() {
    return tlsImplementation;
  }

  @Override
  public Set<AuthenticationType> authenticationTypes() {
    return types;
  }

  @Override
  public boolean supportsCompression() {
    return true;
  }

  private PeerAuthenticator authenticator(AuthenticationType type) {
    if (type == AuthenticationType.KERBEROS && kerberos != null) {
      return new KerberosAuthenticator(java.util.Objects.requireNonNull(kerberosLogin),
          kerberos.qop(), kerberos.acceptedRealms(), kerberos.serviceName());
    }
    TlsSettings t = tls;
    if (type == AuthenticationType.CERTIFICATE && t != null) {
      return new TlsAuthenticator(t.source(), () -> java.util.Date.from(clock.instant()));
    }
    return new PlainAuthenticator();
  }

  private @Nullable SslContext ssl(AuthenticationType type, boolean server) {
    if (type != AuthenticationType.CERTIFICATE) {
      return null;
    }
    return server ? serverContext : clientContext;
  }

  private void checkType(AuthenticationType authentication, String what) {
    Objects.requireNonNull(authentication, "authentication");
    if (!types.contains(authentication)) {
      throw new UnsupportedOperationException("cannot " + what + " with " + authentication
          + " authentication: the Netty transport of '" + hostName + "' was built for " + types
          + (authentication == AuthenticationType.KERBEROS
              ? " (configure kerberos(...) on its builder)"
              : " (configure tls(...) on its builder)"));
    }
  }

  @Override
  public Listener listen(
      Endpoint local, AuthenticationType authentication,
      Function<Connection, MessageHandler> handlers) throws IOException {
    Objects.requireNonNull(local, "local");
    Objects.requireNonNull(handlers, "handlers");
    checkType(authentication, "listen on " + local);
    if (closed) {
      throw new IllegalStateException("cannot listen on " + local + ": the Netty transport of '"
          + hostName + "' is closed; build a new one");
    }
    ChannelGroup accepted = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    ServerBootstrap b = new ServerBootstrap()
        .group(group)
        .channel(NioServerSocketChannel.class)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, Pipelines.waterMark(settings.inFlightBytesMax()))
        .childOption(ChannelOption.MESSAGE_SIZE_ESTIMATOR, FrameSizeEstimator.INSTANCE)
        .childOption(ChannelOption.RCVBUF_ALLOCATOR, Pipelines.readSizes())
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            InetSocketAddress peer = ch.remoteAddress();
            Endpoint remote = new Endpoint(peer.getAddress().getHostAddress(), peer.getPort());
            Admission.Slot slot = admission.admit(peer.getAddress());
            if (slot == null) {
              refuseOverCapacity(ch, peer.getAddress(), remote);
              return;
            }
            channels.add(ch);
            accepted.add(ch);
            pipelines.init(ch, ssl(authentication, true), null);
            ch.pipeline().addLast("protocol", ConnectionHandler.accepting(
                settings, authenticator(authentication), remote, true, handlers, slot));
          }
        });
    ChannelFuture bound = b.bind(new InetSocketAddress(local.host(), local.port()))
        .awaitUninterruptibly();
    if (!bound.isSuccess()) {
      Throwable cause = bound.cause();
      BindException e = new BindException("cannot listen on " + local + " for '" + hostName
          + "': " + cause.getMessage() + " (is the port in use, or the address not local?)");
      Throwable clean = Causes.scrub(cause);
      if (clean != null) {
        e.initCause(clean);
      }
      throw e;
    }
    InetSocketAddress actual = (InetSocketAddress) bound.channel().localAddress();
    NettyListener l = new NettyListener(
        new Endpoint(local.host(), actual.getPort()), bound.channel(), accepted);
    listeners.add(l);
    channels.add(bound.channel());
    LOG.info("'{}' listening on {} with {} ({})", hostName, l.endpoint(), authentication,
        authenticator(authentication).tls() ? "mutual TLS on " + tlsImplementation
            : authentication == AuthenticationType.KERBEROS && kerberos != null
                ? "Kerberos SASL/GSSAPI" : "plain, unauthenticated");
    return l;
  }

  /**
   * Closes a connection past the bound on unauthenticated ones before reading anything from it.
   * Under a flood every refusal is counted and told to the listener, but only the first and then
   * every 1000th is logged, so the log stays readable.
   */
  private void refuseOverCapacity(SocketChannel ch, InetAddress address, Endpoint remote) {
    ch.config().setAutoRead(false);
    ch.close();
    String reason = admission.refusal(address);
    ConnectionDecision d = new ConnectionDecision(remote, null, false, reason);
    long refused = admission.refused();
    if (refusalsLogged.get() == 0 || refused - refusalsLogged.get() >= 1000) {
      refusalsLogged.set(refused);
      LoggerFactory.getLogger("io.replica.transport.netty.connections").warn("{} ({} refused so"
          + " far for this bound)", d.describe(), refused);
    }
    try {
      settings.decisions().accept(d);
    } catch (RuntimeException e) {
      LOG.error("the connection listener threw on: {}", d.describe(), e);
    }
  }

  /**
   * What this transport counted since it was built: connections refused at once because too
   * many peers were still unauthenticated, connections closed for a peer's protocol error, and
   * how many are unauthenticated now. For monitoring: a rising refusal count under normal load
   * means the bound is too low; otherwise someone floods the port.
   */
  public TransportCounters counters() {
    return new TransportCounters(admission.unauthenticated(), admission.refused(),
        admission.protocolErrors());
  }

  @Override
  public CompletableFuture<Connection> connect(
      Endpoint remote, ConnectOptions options, MessageHandler handler) {
    Objects.requireNonNull(remote, "remote");
    Objects.requireNonNull(options, "options");
    Objects.requireNonNull(handler, "handler");
    try {
      checkType(options.authentication(), "connect to " + remote);
    } catch (UnsupportedOperationException e) {
      return CompletableFuture.failedFuture(e);
    }
    if (closed) {
      return CompletableFuture.failedFuture(new IllegalStateException("cannot connect to "
          + remote + ": the Netty transport of '" + hostName + "' is closed"));
    }
    CompletableFuture<Connection> connected = new CompletableFuture<>();
    Bootstrap b = new Bootstrap()
        .group(group)
        .channel(NioSocketChannel.class)
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000)
        .option(ChannelOption.WRITE_BUFFER_WATER_MARK, Pipelines.waterMark(settings.inFlightBytesMax()))
        .option(ChannelOption.MESSAGE_SIZE_ESTIMATOR, FrameSizeEstimator.INSTANCE)
        .option(ChannelOption.RCVBUF_ALLOCATOR, Pipelines.readSizes())
        .handler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            channels.add(ch);
            pipelines.init(ch, ssl(options.authentication(), false), remote);
            ch.pipeline().addLast("protocol", ConnectionHandler.connecting(settings,
                authenticator(options.authentication()), remote, options.compression(), handler,
                connected));
          }
        });
    ChannelFuture connecting;
    if (resolver != null) {
      InetAddress address;
      try {
        address = resolver.apply(remote.host());
      } catch (RuntimeException e) {
        return CompletableFuture.failedFuture(new ConnectException("cannot resolve replica"
            + " server " + remote + ": " + e.getMessage()));
      }
      connecting = b.connect(new InetSocketAddress(address, remote.port()));
    } else {
      connecting = b.connect(remote.host(), remote.port());
    }
    connecting.addListener((ChannelFuture f) -> {
      if (!f.isSuccess()) {
        ConnectException e = new ConnectException("cannot connect to replica server " + remote
            + " from '" + hostName + "': " + f.cause().getMessage()
            + " (is it running and listening on that port?)");
        Throwable cause = Causes.scrub(f.cause());
        if (cause != null) {
          e.initCause(cause);
        }
        connected.completeExceptionally(e);
      }
    });
    return connected;
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    certificateWatch.stop();
    for (NettyListener l : listeners.toArray(new NettyListener[0])) {
      l.close();
    }
    channels.close().awaitUninterruptibly(10, TimeUnit.SECONDS);
    if (serverShaper != null) {
      serverShaper.release();
    }
    group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
    callbacks.shutdown();
    try {
      callbacks.awaitTermination(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public String toString() {
    return "NettyTransport[" + hostName + ", " + (tls == null ? "plain" : "TLS") + "]";
  }

  private final class NettyListener implements Listener {
    private final Endpoint endpoint;
    private final Channel server;
    private final ChannelGroup accepted;

    NettyListener(Endpoint endpoint, Channel server, ChannelGroup accepted) {
      this.endpoint = endpoint;
      this.server = server;
      this.accepted = accepted;
    }

    @Override
    public Endpoint endpoint() {
      return endpoint;
    }

    @Override
    public void close() {
      server.close().awaitUninterruptibly(10, TimeUnit.SECONDS);
      accepted.close().awaitUninterruptibly(10, TimeUnit.SECONDS);
      listeners.remove(this);
    }

    @Override
    public String toString() {
      return "listener of '" + hostName + "' on " + endpoint;
    }
  }

  /**
   * Configures a {@link NettyTransport}. Defaults: one worker thread per core (at most 4), an
   * in-flight bound of 8 MiB per connection and direction, a heartbeat after 10 s of silence,
   * zstd level 1.
   */
  public static final class Builder {
    private @Nullable String hostName;
    private @Nullable TlsSettings tls;
    private @Nullable KerberosSettings kerberos;
    private @Nullable Function<String, InetAddress> resolver;
    private boolean plaintext;
    private Function<String, java.util.Optional<String>> authorizer =
        identity -> java.util.Optional.empty();
    private int workerThreads = Math.min(4, Runtime.getRuntime().availableProcessors());
    private long inFlightBytesMax = 8L * 1024 * 1024;
    private Duration heartbeat = Duration.ofSeconds(10);
    private int compressionLevel = 1;
    private Clock clock = Clock.systemUTC();
    private long bandwidth;
    private long connectionBandwidth;
    private boolean jdkTls;
    private Duration expiryWarning = Duration.ofDays(30);
    private java.util.function.Consumer<CertificateExpiry> expiryListener = w -> { };
    private java.util.function.Consumer<ConnectionDecision> connectionListener = d -> { };
    private int unauthenticatedMax = 256;
    private int unauthenticatedPerAddressMax = 16;
    private Duration handshakeTimeout = Duration.ofSeconds(30);

    private Builder() {}

    /**
     * The most connections a replica server holds at once that have not finished their handshake
     * (authentication and hello), in all and from one remote address; by default 256 and 16.
     * A connection past either bound is closed at once, before anything is read from it, counted
     * in {@link NettyTransport#counters()} and told to the connection listener. Until its hello
     * is admitted a peer can make this host buffer at most one handshake frame (64 KiB), so the
     * bounds cap what peers that proved nothing cost: with the defaults, about 256 times 150 KiB
     * (frame, read buffer, TLS record), under 40 MiB. Raise the per-address bound when many
     * primaries reach this server through one NAT address and reconnect at the same time.
     *
     * @throws IllegalArgumentException if a bound is not positive or the per-address one exceeds
     *     the total
     */
    public Builder unauthenticatedConnectionsMax(int total, int perAddress) {
      if (total <= 0 || perAddress <= 0 || perAddress > total) {
        throw new IllegalArgumentException("unauthenticated connection bounds " + total + " in"
            + " all and " + perAddress + " per address: both must be positive, the second at"
            + " most the first");
      }
      this.unauthenticatedMax = total;
      this.unauthenticatedPerAddressMax = perAddress;
      return this;
    }

    /**
     * How long a connection may take from TCP accept or connect to the end of its handshake (TLS
     * or Kerberos, then hello); 30 s by default. A peer that has not proved itself by then is
     * closed, so it cannot hold a place among the unauthenticated connections by trickling bytes.
     *
     * @throws IllegalArgumentException if not positive
     */
    public Builder handshakeTimeout(Duration timeout) {
      if (timeout.isNegative() || timeout.isZero()) {
        throw new IllegalArgumentException("handshake timeout " + timeout + " is not positive");
      }
      this.handshakeTimeout = timeout;
      return this;
    }

    /**
     * The most bytes per second this host sends in all, over every connection together (0, the
     * default: no limit), so that replication leaves room for other traffic on a shared link. A
     * limited sender still sees back-pressure: its connections turn unwritable while the limit
     * holds data back.
     *
     * @throws IllegalArgumentException if negative
     */
    public Builder bandwidthBytesPerSecondMax(long bytesPerSecond) {
      if (bytesPerSecond < 0) {
        throw new IllegalArgumentException("bandwidth " + bytesPerSecond + " is negative; pass"
            + " 0 for no limit");
      }
      this.bandwidth = bytesPerSecond;
      return this;
    }

    /**
     * The most bytes per second each connection sends (0, the default: no limit). A connection
     * carries one primary and replica server pair, so this bounds one relationship.
     *
     * @throws IllegalArgumentException if negative
     */
    public Builder connectionBandwidthBytesPerSecondMax(long bytesPerSecond) {
      if (bytesPerSecond < 0) {
        throw new IllegalArgumentException("bandwidth " + bytesPerSecond + " is negative; pass"
            + " 0 for no limit");
      }
      this.connectionBandwidth = bytesPerSecond;
      return this;
    }

    /**
     * Warns through {@code listener} (and the log) when this host's certificate will expire
     * within {@code window} (30 days by default): at start, after a reload, and checked hourly.
     *
     * @throws IllegalArgumentException if {@code window} is negative
     */
    public Builder certificateExpiryWarning(Duration window,
        java.util.function.Consumer<CertificateExpiry> listener) {
      if (window.isNegative()) {
        throw new IllegalArgumentException("expiry warning window " + window + " is negative");
      }
      this.expiryWarning = window;
      this.expiryListener = Objects.requireNonNull(listener, "listener");
      return this;
    }

    /**
     * Receives what this host, as a replica server, decided about each incoming connection:
     * accepted, with the identity the peer proved, or refused, with the reason the peer was told.
     * The transport logs each decision as one line either way. Called once per incoming
     * connection on a transport thread, so it must return quickly; by default nobody listens.
     */
    public Builder connectionListener(java.util.function.Consumer<ConnectionDecision> listener) {
      this.connectionListener = Objects.requireNonNull(listener, "listener");
      return this;
    }

    /**
     * The fully qualified name of this host: what it claims to peers, and what its certificate
     * must name.
     *
     * @throws IllegalArgumentException if blank
     */
    public Builder hostName(String hostName) {
      if (hostName.isBlank()) {
        throw new IllegalArgumentException("host name is blank; give this host's FQDN");
      }
      this.hostName = hostName.toLowerCase(Locale.ROOT);
      return this;
    }

    /** Mutual TLS with this material: the transport then performs CERTIFICATE authentication. */
    public Builder tls(TlsSettings tls) {
      this.tls = Objects.requireNonNull(tls, "tls");
      return this;
    }

    /**
     * TLS on the JDK's implementation even when BoringSSL (netty-tcnative) is on the class path:
     * for a platform where the native library misbehaves, or to compare the two. Certificates
     * are checked the same way on both.
     */
    public Builder jdkTls() {
      this.jdkTls = true;
      return this;
    }

    /**
     * Kerberos (SASL/GSSAPI) with this host principal: the transport then performs KERBEROS
     * authentication, on its own listeners and connections (no TLS on them).
     */
    public Builder kerberos(KerberosSettings kerberos) {
      this.kerberos = Objects.requireNonNull(kerberos, "kerberos");
      return this;
    }

    /**
     * How to find a replica server's address from its name; DNS by default. The name stays what
     * the peer must prove (certificate name, Kerberos service principal), so a test or a demo can
     * map real host names to loopback without weakening the checks.
     */
    public Builder resolver(Function<String, InetAddress> resolver) {
      this.resolver = Objects.requireNonNull(resolver, "resolver");
      return this;
    }

    /**
     * A gate on accepted connections: for each authenticated primary's identity, the reason to
     * refuse it, or empty to admit it. A refused primary is told the reason and the connection
     * closes before the engine sees it; a replica server sets it from its authorization list so
     * that an unknown primary learns at once why it cannot replicate. The engine still authorizes
     * every virtual machine. By default every authenticated primary is admitted.
     */
    public Builder authorizer(Function<String, java.util.Optional<String>> authorizer) {
      this.authorizer = Objects.requireNonNull(authorizer, "authorizer");
      return this;
    }

    /**
     * No encryption and no authentication: a peer is whoever its hello claims to be. The
     * transport then accepts either authentication type without performing it. Only for tests
     * and for links protected otherwise.
     */
    public Builder plaintext() {
      this.plaintext = true;
      return this;
    }

    /**
     * Netty event-loop threads.
     *
     * @throws IllegalArgumentException if not positive
     */
    public Builder workerThreads(int workerThreads) {
      if (workerThreads <= 0) {
        throw new IllegalArgumentException("workerThreads " + workerThreads + " is not positive");
      }
      this.workerThreads = workerThreads;
      return this;
    }

    /**
     * Bytes a connection queues per direction before it reports itself not writable (sending)
     * or stops reading (receiving).
     *
     * @throws IllegalArgumentException if below 64 KiB
     */
    public Builder inFlightBytesMax(long inFlightBytesMax) {
      if (inFlightBytesMax < 64 * 1024) {
        throw new IllegalArgumentException("inFlightBytesMax " + inFlightBytesMax
            + " is below 64 KiB");
      }
      this.inFlightBytesMax = inFlightBytesMax;
      return this;
    }

    /**
     * How long a side stays silent before it sends a heartbeat; a peer silent three times as
     * long is presumed dead and the connection closes.
     *
     * @throws IllegalArgumentException if not positive
     */
    public Builder heartbeatInterval(Duration heartbeat) {
      if (heartbeat.isNegative() || heartbeat.isZero()) {
        throw new IllegalArgumentException("heartbeat interval " + heartbeat + " is not positive");
      }
      this.heartbeat = heartbeat;
      return this;
    }

    /**
     * The zstd level for connections that compress (1 is fast and fits disk images).
     *
     * @throws IllegalArgumentException if outside 1..19
     */
    public Builder compressionLevel(int level) {
      if (level < 1 || level > 19) {
        throw new IllegalArgumentException("zstd level " + level + " is outside 1..19");
      }
      this.compressionLevel = level;
      return this;
    }

    /** The clock certificate validity is checked against (tests move it). */
    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /**
     * The transport; it owns threads until {@link NettyTransport#close()}.
     *
     * @throws NullPointerException if no host name was given
     * @throws IllegalStateException if neither TLS nor plaintext was chosen
     */
    public NettyTransport build() {
      return new NettyTransport(this);
    }
  }
}
