package io.replica.host.internal;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The listening side that every server of the host shares: its network threads, its listeners on
 * TCP and on a Unix socket file, and one way to close them: stop accepting, close the
 * connections, stop the threads, remove the socket file. Not exported from the module.
 */
public final class Listeners {
  private static final Logger LOG = LoggerFactory.getLogger(Listeners.class);

  private final String what;
  private final EventLoopGroup group;
  private final List<Channel> channels = new ArrayList<>();
  private @Nullable Path unixSocket;
  private volatile boolean closed;

  /**
   * @param what the server's name for messages, e.g. "NBD server"
   * @param threads its network threads
   */
  public Listeners(String what, int threads) {
    this.what = what;
    this.group = new MultiThreadIoEventLoopGroup(threads, NioIoHandler.newFactory());
  }

  /** The network threads, for the server's bootstraps. */
  public EventLoopGroup group() {
    return group;
  }

  /** Whether {@link #close} has begun; a connection accepted after that is closed at once. */
  public boolean closed() {
    return closed;
  }

  /**
   * Listens on TCP.
   *
   * @return the address bound, with the port chosen if 0 was asked
   * @throws IOException if the address is in use or not permitted
   */
  public InetSocketAddress bindTcp(ServerBootstrap bootstrap, InetSocketAddress address)
      throws IOException {
    ChannelFuture f = bootstrap.bind(address).awaitUninterruptibly();
    if (!f.isSuccess()) {
      Throwable t = f.cause();
      throw new IOException(what + " cannot listen on TCP address " + address + ": "
          + t.getMessage() + " (is it in use, or not permitted?)", t);
    }
    channels.add(f.channel());
    return (InetSocketAddress) f.channel().localAddress();
  }

  /**
   * Listens on a Unix socket file as {@link UnixSockets#bind} does; {@link #close} removes it.
   *
   * @return the socket's absolute path
   */
  public Path bindUnix(ServerBootstrap bootstrap, Path path,
      Set<PosixFilePermission> permissions, @Nullable GroupPrincipal owner) throws IOException {
    Path target = path.toAbsolutePath();
    channels.add(UnixSockets.bind(bootstrap, target, permissions, owner, what));
    unixSocket = target;
    return target;
  }

  /**
   * Stops accepting, runs {@code closeConnections} (which returns once they are closed), stops
   * the network threads and removes the socket file.
   *
   * @return false if it was closed already (then it does nothing)
   */
  public boolean close(Runnable closeConnections) {
    if (closed) {
      return false;
    }
    closed = true;
    for (Channel l : channels) {
      l.close().syncUninterruptibly();
    }
    closeConnections.run();
    group.shutdownGracefully(0, 0, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
    if (unixSocket != null) {
      try {
        Files.deleteIfExists(unixSocket);
      } catch (IOException e) {
        LOG.warn("cannot remove the {} socket file {} ({}); remove it by hand", what,
            unixSocket, e.toString());
      }
    }
    return true;
  }
}
