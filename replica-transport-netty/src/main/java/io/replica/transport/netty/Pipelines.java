package io.replica.transport.netty;

import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.handler.flush.FlushConsolidationHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.handler.traffic.ChannelTrafficShapingHandler;
import io.netty.handler.traffic.GlobalTrafficShapingHandler;
import io.replica.spi.transport.Endpoint;
import io.replica.transport.netty.internal.codec.FrameDecoder;
import io.replica.transport.netty.internal.codec.FrameEncoder;
import io.replica.transport.netty.internal.handler.WriteChunker;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * The handlers of every channel of one transport, from the socket up to the frame codec
 * (liveness, bandwidth, TLS, codec), and the channel options that go with them. The protocol
 * handler on top is the transport's, since it differs between accepted and opened connections.
 */
final class Pipelines {
  /**
   * Plaintext bytes handed to BoringSSL per call: over loopback, 64 KiB moved blocks faster than
   * Netty's default of 16 KiB; 128 and 256 KiB gained nothing more.
   */
  private static final int WRAP_DATA_BYTES = 64 * 1024;

  private final Duration heartbeat;
  private final @Nullable GlobalTrafficShapingHandler hostShaper;
  private final long connectionBandwidth;
  private final boolean nativeTls;
  private final CertificateWatch certificateWatch;

  /**
   * @param hostShaper the bandwidth bound of the whole host, shared by its channels, or null
   * @param connectionBandwidth the bound of each connection in bytes per second, 0 for none
   * @param nativeTls whether TLS runs on BoringSSL, which reads native memory only
   * @param certificateWatch checked at each TLS channel, so a reloaded certificate is noticed
   */
  Pipelines(Duration heartbeat, @Nullable GlobalTrafficShapingHandler hostShaper,
      long connectionBandwidth, boolean nativeTls, CertificateWatch certificateWatch) {
    this.heartbeat = heartbeat;
    this.hostShaper = hostShaper;
    this.connectionBandwidth = connectionBandwidth;
    this.nativeTls = nativeTls;
    this.certificateWatch = certificateWatch;
  }

  /** Adds the handlers below the protocol handler; with {@code ssl}, TLS (to {@code sni}). */
  void init(Channel ch, @Nullable SslContext ssl, @Nullable Endpoint sni) {
    ChannelPipeline p = ch.pipeline();
    // Liveness sits at the socket: any byte read or written counts, not only whole frames, so a
    // slow link that still moves bytes is not taken for a dead one.
    long heartbeatMillis = heartbeat.toMillis();
    p.addLast("idle", new IdleStateHandler(true, 3 * heartbeatMillis, heartbeatMillis, 0,
        TimeUnit.MILLISECONDS));
    // Shapers sit next to the socket, so they count the bytes on the wire (after TLS).
    if (hostShaper != null) {
      p.addLast("bandwidth-host", hostShaper);
    }
    if (connectionBandwidth > 0) {
      p.addLast("bandwidth-connection", new ChannelTrafficShapingHandler(connectionBandwidth, 0,
          100));
    }
    long slowest = Math.min(hostShaper != null ? hostShaper.getWriteLimit() : Long.MAX_VALUE,
        connectionBandwidth > 0 ? connectionBandwidth : Long.MAX_VALUE);
    if (slowest != Long.MAX_VALUE) {
      p.addLast("bandwidth-chunks", new WriteChunker(slowest));
    }
    if (ssl != null) {
      certificateWatch.check(); // also notices a certificate reloaded for this connection
      SslHandler handler = sni == null ? ssl.newHandler(ch.alloc())
          : ssl.newHandler(ch.alloc(), sni.host(), sni.port());
      if (nativeTls) {
        // BoringSSL seals several records per call (each still at most 16 KiB), so fewer, larger
        // calls cost less per byte.
        handler.setWrapDataSize(WRAP_DATA_BYTES);
      }
      p.addLast("tls", handler);
    }
    p.addLast("flush", new FlushConsolidationHandler(256, true));
    p.addLast("decoder", new FrameDecoder());
    // Frames go straight to native memory unless the JDK's TLS, which reads arrays, is next.
    p.addLast("encoder", new FrameEncoder(ssl == null || nativeTls));
  }

  /** Reads grow up to 1 MiB: blocks are large, and fewer, larger reads cost less per byte. */
  static RecvByteBufAllocator readSizes() {
    return new AdaptiveRecvByteBufAllocator(512, 64 * 1024, 1024 * 1024);
  }

  /** A channel stops being writable at the in-flight bound and is again at half of it. */
  static WriteBufferWaterMark waterMark(long inFlightBytesMax) {
    long high = Math.min(Integer.MAX_VALUE, inFlightBytesMax);
    return new WriteBufferWaterMark((int) (high / 2), (int) high);
  }
}
