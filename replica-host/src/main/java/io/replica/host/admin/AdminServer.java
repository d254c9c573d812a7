package io.replica.host.admin;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.DuplexChannel;
import io.netty.channel.socket.nio.NioServerDomainSocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.replica.api.ReplicationManager;
import io.replica.api.event.ReplicationListener;
import io.replica.host.internal.Listeners;
import io.replica.transport.netty.TlsSettings;
import java.io.Closeable;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipalNotFoundException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import javax.net.ssl.SSLException;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The management API of a replication host: HTTP/1.1 with JSON bodies, the resources of
 * {@code docs/admin-api.md}, over a {@link ReplicationManager} and the host's
 * {@link MachineCatalog}. {@link AdminClient} and the {@code replica vm} commands speak it.
 *
 * <p>As Hyper-V Replica is managed by the members of "Hyper-V Administrators", this API answers
 * root and the members of the host's admin group. It listens on a Unix domain socket whose file
 * has mode 0660 and belongs to that group, and checks every connection's peer credentials as well,
 * so a looser mode or a file handed on cannot widen access. Optionally it also listens on TCP with
 * mutual TLS, for administrators whose certificate names one of a configured list of names.
 *
 * <pre>{@code
 * try (AdminServer admin = AdminServer.builder(engine, catalog)
 *     .unixSocket(Path.of("/run/replica/admin.sock"), "replica-admins")
 *     .start()) {
 *   // curl --unix-socket /run/replica/admin.sock http://localhost/v1/vms
 * }
 * }</pre>
 */
public final class AdminServer implements Closeable {
  private static final Logger LOG = LoggerFactory.getLogger(AdminServer.class);
  /** Largest request body: settings and recovery point choices are small. */
  static final int BODY_BYTES_MAX = 64 * 1024;

  private final ReplicationManager manager;
  private final AdminApi api;
  private final ReplicationListener listener;
  private final ObjectMapper mapper = new ObjectMapper();
  private final Listeners listeners = new Listeners("management API", 1);
  private final ChannelGroup channels = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
  private final ExecutorService executor;
  private final AdminAccess access;
  private @Nullable Path unixSocket;
  private @Nullable InetSocketAddress tcpAddress;

  private AdminServer(Builder b) {
    this.manager = b.manager;
    this.api = new AdminApi(b.manager, b.catalog, mapper);
    this.listener = api::onEvent;
    this.access = new AdminAccess(b.manager.hostName(), b.adminGroup, b.administrators);
    // Requests run here, never on the network thread: engine calls take its lock and the
    // access check asks the name service.
    this.executor = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "replica-admin");
      t.setDaemon(true);
      return t;
    });
    manager.addListener(listener);
  }

  /**
   * A builder for the API of {@code manager}, whose primary machines {@code catalog} names.
   */
  public static Builder builder(ReplicationManager manager, MachineCatalog catalog) {
    return new Builder(manager, catalog);
  }

  /** The Unix socket the server listens on, if any. */
  public Optional<Path> unixSocket() {
    return Optional.ofNullable(unixSocket);
  }

  /** The TCP address the server listens on (with the port chosen if 0 was asked), if any. */
  public Optional<InetSocketAddress> tcpAddress() {
    return Optional.ofNullable(tcpAddress);
  }

  /** Closes the listeners and connections and removes the socket file; the engine stays open. */
  @Override
  public void close() {
    if (listeners.close(() -> channels.close().syncUninterruptibly())) {
      executor.shutdown();
      manager.removeListener(listener);
    }
  }

  // ---- HTTP

  private ChannelInitializer<Channel> initializer(@Nullable SslContext tls, boolean unix) {
    return new ChannelInitializer<>() {
      @Override
      protected void initChannel(Channel ch) {
        if (listeners.closed()) {
          ch.close();
          return;
        }
        channels.add(ch);
        Connection conn = new Connection();
        if (tls != null) {
          SslHandler ssl = tls.newHandler(ch.alloc());
          ch.pipeline().addLast("tls", ssl);
        }
        ch.pipeline().addLast("http", new HttpServerCodec());
        ch.pipeline().addLast("aggregate", new BoundedAggregator());
        ch.pipeline().addLast("api", conn);
        if (unix) {
          // Nothing is read until the peer's credentials are checked.
          ch.config().setAutoRead(false);
          executor.execute(() -> {
            AdminAccess.Caller c = access.unixCaller(ch);
            ch.eventLoop().execute(() -> {
              conn.caller = c;
              ch.config().setAutoRead(true);
            });
          });
        }
      }
    };
  }

  /** Answers an oversized body with a JSON error instead of a bare status. */
  private final class BoundedAggregator extends HttpObjectAggregator {
    BoundedAggregator() {
      super(BODY_BYTES_MAX);
    }

    @Override
    protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) {
      // The rest of the body is read and discarded; closing while the client still writes would
      // reset the connection before the client reads this answer.
      ApiResponse r = ApiResponse.error(413, "bad-request", "the request body is larger than "
          + BODY_BYTES_MAX + " bytes; the API's bodies are small JSON objects");
      Channel ch = ctx.channel();
      write(ch, r, false).addListener(f -> {
        if (ch instanceof DuplexChannel d) {
          d.shutdownOutput();
        } else {
          ch.close();
        }
      });
    }
  }

  /** One client connection: requests are answered one after another, in order. */
  private final class Connection extends SimpleChannelInboundHandler<FullHttpRequest> {
    private volatile AdminAccess.@Nullable Caller caller;
    private CompletableFuture<?> previous = CompletableFuture.completedFuture(null);

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
      if (evt instanceof SslHandshakeCompletionEvent e) {
        if (e.isSuccess()) {
          caller = access.tlsCaller(ctx.pipeline().get(SslHandler.class));
        } else {
          ctx.close();
        }
      }
      super.userEventTriggered(ctx, evt);
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
      Channel ch = ctx.channel();
      if (req.decoderResult().isFailure()) {
        send(ch, ApiResponse.error(400, "bad-request", "the request is not valid HTTP/1.1: "
            + AdminApi.printable(String.valueOf(req.decoderResult().cause().getMessage()))),
            false);
        return;
      }
      boolean keepAlive = HttpUtil.isKeepAlive(req);
      AdminAccess.Caller c = caller;
      if (c == null || c.refusal() != null) {
        AdminAccess.Caller refused = c != null ? c : new AdminAccess.Caller("a client",
            "the management API could not"
            + " identify the client");
        access.logRefusal(refused);
        send(ch, ApiResponse.error(403, "not-authorized", refused.refusal()), false);
        return;
      }
      String method = req.method().name();
      String uri = req.uri();
      byte[] body = ByteBufUtil.getBytes(req.content());
      List<String> segments = new ArrayList<>();
      Map<String, List<String>> query;
      try {
        QueryStringDecoder d = new QueryStringDecoder(uri);
        for (String s : d.rawPath().split("/")) {
          if (!s.isEmpty()) {
            segments.add(QueryStringDecoder.decodeComponent(s));
          }
        }
        query = d.parameters();
      } catch (IllegalArgumentException e) {
        send(ch, ApiResponse.error(400, "bad-request", "the request path '"
            + AdminApi.printable(uri) + "' is malformed: " + e.getMessage()), keepAlive);
        return;
      }
      CompletableFuture<?> before = previous;
      CompletableFuture<ApiResponse> answer = before
          .handleAsync((v, e) -> api.handle(method, segments, query, body), executor)
          .thenCompose(f -> f);
      previous = answer.handle((r, e) -> null);
      answer.whenComplete((r, e) -> send(ch, e != null ? AdminApi.failure(e) : r, keepAlive));
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      LOG.debug("management API connection {} failed: {}", ctx.channel(), cause.toString());
      ctx.close();
    }
  }

  private void send(Channel ch, ApiResponse r, boolean keepAlive) {
    ChannelFuture f = write(ch, r, keepAlive);
    if (!keepAlive) {
      f.addListener(ChannelFutureListener.CLOSE);
    }
  }

  private ChannelFuture write(Channel ch, ApiResponse r, boolean keepAlive) {
    byte[] json;
    try {
      json = mapper.writeValueAsBytes(r.body());
    } catch (JsonProcessingException e) {
      json = ("{\"error\":\"cannot write the answer\",\"kind\":\"failed\"}")
          .getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }
    FullHttpResponse resp = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
        HttpResponseStatus.valueOf(r.status()), Unpooled.wrappedBuffer(json));
    resp.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json; charset=utf-8");
    resp.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, json.length);
    if (!keepAlive) {
      resp.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    }
    return ch.writeAndFlush(resp);
  }

  // ---- listeners

  private void bindUnix(Path path, Set<PosixFilePermission> permissions, String groupName)
      throws IOException {
    GroupPrincipal owner;
    try {
      owner = FileSystems.getDefault().getUserPrincipalLookupService()
          .lookupPrincipalByGroupName(groupName);
    } catch (UserPrincipalNotFoundException e) {
      throw new IOException("the admin group '" + AdminApi.printable(groupName) + "' does not"
          + " exist on this host (create it, e.g. groupadd " + AdminApi.printable(groupName)
          + ", or name another group)", e);
    }
    unixSocket = listeners.bindUnix(new ServerBootstrap().group(listeners.group())
        .channel(NioServerDomainSocketChannel.class).childHandler(initializer(null, true)),
        path, permissions, owner);
    LOG.info("management API listens on {} (group {})", unixSocket, groupName);
  }

  private void bindTcp(InetSocketAddress address, SslContext tls) throws IOException {
    tcpAddress = listeners.bindTcp(new ServerBootstrap().group(listeners.group())
        .channel(NioServerSocketChannel.class).childOption(ChannelOption.TCP_NODELAY, true)
        .childHandler(initializer(tls, false)), address);
    LOG.info("management API listens on {} (mutual TLS)", tcpAddress);
  }

  /** Settings of an {@link AdminServer}. */
  public static final class Builder {
    private final ReplicationManager manager;
    private final MachineCatalog catalog;
    private @Nullable Path unixSocket;
    private @Nullable String adminGroup;
    private Set<PosixFilePermission> socketPermissions =
        PosixFilePermissions.fromString("rw-rw----");
    private @Nullable InetSocketAddress tcp;
    private @Nullable TlsSettings tls;
    private Set<String> administrators = Set.of();

    private Builder(ReplicationManager manager, MachineCatalog catalog) {
      this.manager = Objects.requireNonNull(manager, "manager");
      this.catalog = Objects.requireNonNull(catalog, "catalog");
    }

    /**
     * Listens on a Unix domain socket at {@code path}, created with mode 0660 and owned by
     * {@code adminGroup}; root and the members of that group are admitted.
     */
    public Builder unixSocket(Path path, String adminGroup) {
      this.unixSocket = Objects.requireNonNull(path, "path");
      this.adminGroup = Objects.requireNonNull(adminGroup, "adminGroup");
      return this;
    }

    /** The socket file's mode; tests widen it to show that the credential check refuses. */
    Builder socketPermissions(Set<PosixFilePermission> permissions) {
      this.socketPermissions = Set.copyOf(permissions);
      return this;
    }

    /**
     * Also listens on TCP at {@code address} with mutual TLS: the server presents this host's
     * certificate from {@code settings}, a client must present one that chains to its trusted
     * certificates and names one of {@code administrators} (a host or user name in the
     * certificate's subject alternative names or common name).
     *
     * @throws IllegalArgumentException if {@code administrators} is empty
     */
    public Builder tcp(InetSocketAddress address, TlsSettings settings,
        Collection<String> administrators) {
      if (administrators.isEmpty()) {
        throw new IllegalArgumentException("the management API over TCP needs at least one"
            + " administrator name to admit");
      }
      this.tcp = Objects.requireNonNull(address, "address");
      this.tls = Objects.requireNonNull(settings, "settings");
      this.administrators = administrators.stream()
          .map(n -> n.toLowerCase(java.util.Locale.ROOT))
          .collect(java.util.stream.Collectors.toUnmodifiableSet());
      return this;
    }

    /** As {@link #tcp(InetSocketAddress, TlsSettings, Collection)} on loopback at {@code port}. */
    public Builder tcp(int port, TlsSettings settings, Collection<String> administrators) {
      return tcp(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), settings,
          administrators);
    }

    /**
     * Binds the listeners and starts answering.
     *
     * @throws IllegalStateException if no listener was chosen
     * @throws IOException if the admin group does not exist, a listener cannot be bound or the
     *     TLS material is unusable
     */
    public AdminServer start() throws IOException {
      if (unixSocket == null && tcp == null) {
        throw new IllegalStateException("management API has no listener; call unixSocket(path,"
            + " group) and/or tcp(address, tls, administrators)");
      }
      SslContext context = null;
      if (tls != null) {
        try {
          context = tls.nettyServerContext();
        } catch (SSLException | IllegalArgumentException e) {
          throw new IOException("cannot use the TLS settings " + tls + " for the management"
              + " API: " + e.getMessage(), e);
        }
      }
      AdminServer server = new AdminServer(this);
      try {
        if (unixSocket != null) {
          server.bindUnix(unixSocket, socketPermissions, Objects.requireNonNull(adminGroup));
        }
        if (tcp != null) {
          server.bindTcp(tcp, Objects.requireNonNull(context));
        }
      } catch (IOException | RuntimeException e) {
        server.close();
        throw e;
      }
      return server;
    }
  }
}
