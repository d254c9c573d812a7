package io.replica.transport.netty;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A TCP relay on loopback that can cut every connection through it, the way a network failure
 * does, once a given number of bytes went from client to server.
 */
final class CuttingProxy implements AutoCloseable {
  private final ServerSocket server;
  private final int target;
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();
  final AtomicLong forwarded = new AtomicLong();
  final AtomicInteger accepted = new AtomicInteger();
  final AtomicInteger cuts = new AtomicInteger();
  private volatile long cutAt = Long.MAX_VALUE;

  CuttingProxy(int target) throws IOException {
    this.target = target;
    this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread t = new Thread(this::acceptLoop, "cutting-proxy");
    t.setDaemon(true);
    t.start();
  }

  int port() {
    return server.getLocalPort();
  }

  /** Cuts all connections once {@code more} further bytes went from client to server. */
  void cutAfter(long more) {
    cutAt = forwarded.get() + more;
  }

  private void acceptLoop() {
    while (!server.isClosed()) {
      try {
        Socket client = server.accept();
        Socket upstream = new Socket(InetAddress.getLoopbackAddress(), target);
        accepted.incrementAndGet();
        sockets.add(client);
        sockets.add(upstream);
        pump(client, upstream, true);
        pump(upstream, client, false);
      } catch (IOException e) {
        return;
      }
    }
  }

  private void pump(Socket from, Socket to, boolean upstream) {
    Thread t = new Thread(() -> {
      byte[] buf = new byte[64 * 1024];
      try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
        int n;
        while ((n = in.read(buf)) > 0) {
          out.write(buf, 0, n);
          if (upstream && forwarded.addAndGet(n) >= cutAt) {
            cutAt = Long.MAX_VALUE;
            cuts.incrementAndGet();
            cutAll();
            return;
          }
        }
      } catch (IOException e) {
        // cut or closed
      } finally {
        close(from);
        close(to);
      }
    }, "cutting-proxy-pump");
    t.setDaemon(true);
    t.start();
  }

  private void cutAll() {
    for (Socket s : sockets) {
      try {
        s.setSoLinger(true, 0); // RST, as a dropped link looks to the peers
      } catch (IOException e) {
        // already closed
      }
      close(s);
    }
    sockets.clear();
  }

  private static void close(Socket s) {
    try {
      s.close();
    } catch (IOException e) {
      // nothing to do
    }
  }

  @Override
  public void close() throws IOException {
    server.close();
    cutAll();
  }
}
