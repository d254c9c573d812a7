package io.replica.host.internal;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import java.io.IOException;
import java.net.ConnectException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Listening on a Unix domain socket file the way every server of the host does: a socket left by a
 * server that died is replaced, one where a server still answers is not, and the socket gets its
 * mode (and group) before it appears under its name. Not exported from the module.
 */
public final class UnixSockets {
  private UnixSockets() {}

  /**
   * Binds {@code bootstrap} (whose channel class is a domain socket server channel) at
   * {@code target}: under a private name first, then given {@code permissions} and
   * {@code group}, then moved into place, so no client reaches it before its permissions are right.
   *
   * @param what the server's name for messages, e.g. "NBD server"
   * @throws IOException if a file of that name is not a socket, another server answers there, or
   *     the socket cannot be bound or given its mode
   */
  public static Channel bind(ServerBootstrap bootstrap, Path target,
      Set<PosixFilePermission> permissions, @Nullable GroupPrincipal group, String what)
      throws IOException {
    clearStaleSocket(target);
    Path staging = target.resolveSibling("." + target.getFileName() + ".binding");
    Files.deleteIfExists(staging);
    ChannelFuture f = bootstrap.bind(UnixDomainSocketAddress.of(staging)).awaitUninterruptibly();
    if (!f.isSuccess()) {
      Throwable t = f.cause();
      throw new IOException(what + " cannot listen on Unix socket " + target + ": "
          + t.getMessage() + " (is it in use, or not permitted?)", t);
    }
    Channel ch = f.channel();
    try {
      Files.setPosixFilePermissions(staging, permissions);
      if (group != null) {
        Files.setAttribute(staging, "posix:group", group, LinkOption.NOFOLLOW_LINKS);
      }
      Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException | UnsupportedOperationException e) {
      ch.close().syncUninterruptibly();
      Files.deleteIfExists(staging);
      throw new IOException("cannot set up the " + what + " socket " + target + ": " + e, e);
    }
    return ch;
  }

  /**
   * Removes a socket file left by a server that did not stop cleanly.
   *
   * @throws IOException if the file is not a socket or a server still accepts connections there
   */
  public static void clearStaleSocket(Path target) throws IOException {
    if (!Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    int mode = (Integer) Files.getAttribute(target, "unix:mode", LinkOption.NOFOLLOW_LINKS);
    if ((mode & 0170000) != 0140000) {
      throw new IOException("cannot listen on " + target + ": a file of that name exists and is"
          + " not a socket (choose another path or remove it)");
    }
    try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      probe.connect(UnixDomainSocketAddress.of(target));
      throw new IOException("cannot listen on " + target + ": another server accepts"
          + " connections there (stop it or choose another path)");
    } catch (ConnectException e) {
      // Left behind by a server that did not stop cleanly.
      Files.delete(target);
    }
  }
}
