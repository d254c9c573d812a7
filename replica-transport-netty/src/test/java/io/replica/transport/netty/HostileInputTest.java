package io.replica.transport.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.replica.api.AuthenticationType;
import io.replica.spi.transport.Connection;
import io.replica.spi.transport.ConnectOptions;
import io.replica.spi.transport.Endpoint;
import io.replica.spi.transport.Message;
import io.replica.spi.transport.Transport;
import io.replica.transport.netty.internal.codec.Frame;
import io.replica.transport.netty.internal.codec.FrameDecoder;
import io.replica.transport.netty.internal.codec.RawFrames;
import io.replica.transport.netty.internal.codec.WireFormat;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What a peer that proved nothing can do to a replica server over real loopback sockets, and
 * what a slow link must still carry: issue 11.
 */
class HostileInputTest {
  /** A reason a peer could use to forge log lines. */
  private static final String FORGERY = "bye\n2026-12-03 INFO accepted connection from 10.0.0.9"
      + " as 'hv1.contoso.com'\r\u2028\u202e" + "x".repeat(1000);

  private final List<AutoCloseable> open = new ArrayList<>();
  private final LinkedBlockingQueue<ConnectionDecision> decisions = new LinkedBlockingQueue<>();

  @AfterEach
  void closeAll() throws Exception {
    for (AutoCloseable c : open) {
      c.close();
    }
  }

  private NettyTransport keep(NettyTransport t) {
    open.add(t);
    return t;
  }

  private NettyTransport.Builder plain(String host) {
    return NettyTransport.builder().hostName(host).plaintext().workerThreads(1)
        .connectionListener(decisions::add);
  }

  private Socket socket(String from, int port) throws IOException {
    Socket s = new Socket();
    open.add(s);
    s.bind(new InetSocketAddress(InetAddress.getByName(from), 0));
    s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
    s.setSoTimeout(30_000);
    return s;
  }

  private ConnectionDecision nextDecision() throws InterruptedException {
    ConnectionDecision d = decisions.poll(30, TimeUnit.SECONDS);
    if (d == null) {
      throw new AssertionError("no decision within 30 s");
    }
    return d;
  }

  /** Everything the peer sends until it closes (a reset counts as the end). */
  private static byte[] readToEnd(Socket s) throws IOException {
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    byte[] buf = new byte[4096];
    InputStream in = s.getInputStream();
    try {
      int n;
      while ((n = in.read(buf)) > 0) {
        all.write(buf, 0, n);
      }
    } catch (java.net.SocketException reset) {
      // closed by the peer without a FIN
    }
    return all.toByteArray();
  }

  /** The frames in {@code bytes}, read as a peer in the handshake reads them. */
  private static List<Frame> frames(byte[] bytes) {
    EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder());
    ch.writeInbound(Unpooled.wrappedBuffer(bytes));
    List<Frame> frames = new ArrayList<>();
    Object f;
    while ((f = ch.readInbound()) != null) {
      frames.add((Frame) f);
    }
    ch.finishAndReleaseAll();
    return frames;
  }

  /** One whole frame from the stream. */
  private static Frame readFrame(Socket s) throws IOException {
    DataInputStream in = new DataInputStream(s.getInputStream());
    int length = in.readInt();
    byte[] frame = new byte[4 + length];
    in.readFully(frame, 4, length);
    frame[0] = (byte) (length >>> 24);
    frame[1] = (byte) (length >>> 16);
    frame[2] = (byte) (length >>> 8);
    frame[3] = (byte) length;
    return frames(frame).get(0);
  }

  private static void assertOneSafeLine(String text) {
    assertFalse(text.contains("\n") || text.contains("\r") || text.contains("\u2028")
        || text.contains("\u202e"), "a raw line break or override: " + text);
    assertTrue(text.length() < 600, "the peer's text is capped: " + text.length() + " chars");
  }

  @Test
  void anUnauthenticatedPeersErrorReasonIsEscapedInTheDecision() throws Exception {
    Transport.Listener l = keep(plain("replica.test").build()).listen(Peers.any(),
        AuthenticationType.CERTIFICATE, c -> new Peers.Recorder());
    Socket s = socket("127.0.0.1", l.endpoint().port());
    s.getOutputStream().write(RawFrames.error(WireFormat.ERROR_PROTOCOL, FORGERY));
    readToEnd(s);
    ConnectionDecision d = nextDecision();
    assertFalse(d.accepted());
    assertTrue(d.reason().contains("peer said: \"bye\\n2026-12-03 INFO accepted connection"),
        d.reason());
    assertTrue(d.reason().contains("\\r\\u2028\\u202e"), d.reason());
    assertTrue(d.reason().contains("more characters)"), d.reason());
    assertOneSafeLine(d.reason());
    assertOneSafeLine(d.describe());
  }

  @Test
  void aReplicaServersErrorReasonIsEscapedForThePrimary() throws Exception {
    try (ServerSocket fake = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      Thread server = new Thread(() -> {
        try (Socket s = fake.accept()) {
          s.getOutputStream().write(RawFrames.error(WireFormat.ERROR_AUTHENTICATION, FORGERY));
          s.shutdownOutput();
          readToEnd(s);
        } catch (IOException e) {
          // the test sees what the primary made of it
        }
      }, "fake-replica-server");
      server.setDaemon(true);
      server.start();
      NettyTransport primary = keep(plain("primary.test").build());
      ExecutionException e = assertThrows(ExecutionException.class, () -> primary.connect(
          new Endpoint("127.0.0.1", fake.getLocalPort()), Peers.TLS, new Peers.Recorder())
          .get(30, TimeUnit.SECONDS));
      AuthenticationException refused = (AuthenticationException) e.getCause();
      assertTrue(refused.getMessage().contains("peer said: \"bye\\n2026"), refused.getMessage());
      assertOneSafeLine(refused.getMessage());
      assertOneSafeLine(refused.reason());
    }
  }

  @Test
  void aPeerThatProvedNothingCannotMakeTheServerWaitForAFullFrame() throws Exception {
    NettyTransport server = keep(plain("replica.test").build());
    Transport.Listener l = server.listen(Peers.any(), AuthenticationType.CERTIFICATE,
        c -> new Peers.Recorder());
    Socket s = socket("127.0.0.1", l.endpoint().port());
    // The start of a frame of 16 MiB: before the fix the server waited for all of it.
    byte[] start = new byte[4 + 1000];
    new SplittableRandom(1).nextBytes(start);
    start[0] = 1;
    start[1] = 0;
    start[2] = 0;
    start[3] = 0;
    s.getOutputStream().write(start);
    List<Frame> reply = frames(readToEnd(s));
    assertEquals(1, reply.size(), reply.toString());
    Frame.Error error = (Frame.Error) reply.get(0);
    assertTrue(error.reason().contains("over the handshake's maximum of 65546 bytes"),
        error.reason());
    assertTrue(nextDecision().reason().contains("handshake's maximum"));
    assertEquals(1, server.counters().protocolErrors());
  }

  @Test
  void unauthenticatedConnectionsAreBoundedInAllAndPerAddress() throws Exception {
    NettyTransport server = keep(plain("replica.test").unauthenticatedConnectionsMax(3, 2)
        .build());
    Transport.Listener l = server.listen(Peers.any(), AuthenticationType.CERTIFICATE,
        c -> new Peers.Recorder());
    int port = l.endpoint().port();
    Socket a1 = socket("127.0.0.1", port);
    socket("127.0.0.1", port);
    Socket a3 = socket("127.0.0.1", port);
    assertEquals(0, readToEnd(a3).length, "refused at once, before a byte");
    ConnectionDecision d = nextDecision();
    assertFalse(d.accepted());
    assertTrue(d.reason().startsWith("too many unauthenticated connections from 127.0.0.1 (2,"),
        d.reason());

    socket("127.0.0.2", port);
    Socket c1 = socket("127.0.0.3", port);
    assertEquals(0, readToEnd(c1).length);
    d = nextDecision();
    assertEquals("127.0.0.3", d.remote().host());
    assertTrue(d.reason().startsWith("too many unauthenticated connections (3,"), d.reason());
    assertEquals(new TransportCounters(3, 2, 0), server.counters());

    // Once a primary's hello is admitted, its place is free again.
    a1.getOutputStream().write(RawFrames.hello("primary.test"));
    assertTrue(readFrame(a1) instanceof Frame.Hello);
    assertTrue(nextDecision().accepted());
    Socket a4 = socket("127.0.0.1", port);
    a4.getOutputStream().write(RawFrames.hello("primary.test"));
    assertTrue(readFrame(a4) instanceof Frame.Hello);
    assertTrue(nextDecision().accepted());
    assertEquals(2, server.counters().refusedUnauthenticated());
  }

  @Test
  void aPeerThatDoesNotFinishItsHandshakeInTimeIsClosed() throws Exception {
    NettyTransport server = keep(plain("replica.test").unauthenticatedConnectionsMax(1, 1)
        .handshakeTimeout(Duration.ofMillis(200)).build());
    Transport.Listener l = server.listen(Peers.any(), AuthenticationType.CERTIFICATE,
        c -> new Peers.Recorder());
    Socket silent = socket("127.0.0.1", l.endpoint().port());
    assertEquals(0, readToEnd(silent).length);
    ConnectionDecision d = nextDecision();
    assertTrue(d.reason().contains("did not complete within 200 ms"), d.reason());
    // Its place is free: the next primary gets in.
    Socket next = socket("127.0.0.1", l.endpoint().port());
    next.getOutputStream().write(RawFrames.hello("primary.test"));
    assertTrue(readFrame(next) instanceof Frame.Hello);
    assertTrue(nextDecision().accepted());
  }

  /**
   * A WAN link throttled to 4 KiB/s carries a cycle of 1 MiB (about 80 KiB compressed, twenty
   * seconds on the wire) although each of its frames takes about 5 s to arrive, longer than the
   * peer's liveness window of 3 s: bytes keep flowing, so the link is slow, not dead.
   */
  @Test
  void aThrottledLinkDeliversAMebibyteCycle() throws Exception {
    Duration heartbeat = Duration.ofSeconds(1);
    NettyTransport primary = keep(plain("primary.test").heartbeatInterval(heartbeat)
        .connectionBandwidthBytesPerSecondMax(4096).build());
    NettyTransport replica = keep(plain("replica.test").heartbeatInterval(heartbeat).build());
    Peers.Recorder received = new Peers.Recorder();
    Transport.Listener l = replica.listen(Peers.any(), AuthenticationType.CERTIFICATE,
        c -> received);
    Peers.Recorder sender = new Peers.Recorder();
    Connection c = primary.connect(l.endpoint(), new ConnectOptions(
        AuthenticationType.CERTIFICATE, true), sender).get(30, TimeUnit.SECONDS);
    int blocks = 4;
    byte[][] data = new byte[blocks][256 * 1024];
    SplittableRandom r = new SplittableRandom(4);
    for (byte[] block : data) {
      for (int i = 0; i < block.length; i += 16) {
        block[i] = (byte) r.nextInt(); // compresses to about 20 KiB: 5 s per frame
      }
    }
    c.send(new Message.CycleBegin(NettyTransportTest.VM, 1, 0, null, null, false));
    for (int i = 0; i < blocks; i++) {
      c.send(new Message.BlockData(NettyTransportTest.VM, 1, i + 1, NettyTransportTest.DISK,
          (long) i * data[i].length, data[i]));
    }
    c.send(new Message.CycleEnd(NettyTransportTest.VM, 1, blocks, blocks * 256L * 1024, 0));
    assertTrue(received.next() instanceof Message.CycleBegin);
    for (int i = 0; i < blocks; i++) {
      Message.BlockData b = (Message.BlockData) received.next();
      assertEquals(i + 1, b.sequence());
      assertTrue(java.util.Arrays.equals(data[i], b.data()), "block " + i);
    }
    assertTrue(received.next() instanceof Message.CycleEnd);
    assertTrue(received.closes.isEmpty(), "closed: " + received.closes);
    assertTrue(sender.closes.isEmpty(), "closed: " + sender.closes);
    c.close();
  }
}
