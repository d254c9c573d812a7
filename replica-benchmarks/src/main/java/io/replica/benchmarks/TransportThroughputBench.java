package io.replica.benchmarks;

import com.github.luben.zstd.Zstd;
import io.replica.api.AuthenticationType;
import io.replica.api.DiskId;
import io.replica.api.VmId;
import io.replica.spi.transport.ConnectOptions;
import io.replica.spi.transport.Connection;
import io.replica.spi.transport.Message;
import io.replica.spi.transport.MessageHandler;
import io.replica.spi.transport.Transport;
import io.replica.transport.netty.Certificates;
import io.replica.transport.netty.NettyTransport;
import io.replica.transport.netty.TlsCredentials;
import io.replica.transport.netty.TlsSettings;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import javax.crypto.Cipher;
import javax.crypto.KeyGenerator;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;
import org.jspecify.annotations.Nullable;

/**
 * Throughput of replicated data over loopback with {@link NettyTransport} (plain, mutual TLS,
 * TLS + zstd), next to each stage alone on the same disk-image-like data: a bare NIO socket
 * copy, the JDK's AES-GCM, zstd-jni level 1. The goal of issue 4: each configuration reaches at
 * least 60 % of its slowest stage. Each figure is the best of three interleaved rounds after a
 * warm-up; rates count payload bytes (before compression). TLS runs on what the transport picks
 * (BoringSSL, as netty-tcnative is on this class path); one more row shows TLS on the JDK's
 * implementation, for embedders who leave netty-tcnative out.
 *
 * <p>Run: {@code java -cp replica-benchmarks/target/benchmarks.jar
 * io.replica.benchmarks.TransportThroughputBench [MiB per run, default 512]}.
 */
public final class TransportThroughputBench {
  private static final int BLOCK = 256 * 1024;
  private static final VmId VM = VmId.of(new UUID(1, 1));
  private static final DiskId DISK = DiskId.of(new UUID(1, 2));

  private static double ratio;

  private TransportThroughputBench() {}

  /** 64 MiB of disk-image-like blocks: zeros, text-like runs, random bytes, sparse patterns. */
  static List<byte[]> diskImageBlocks(long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    List<byte[]> blocks = new ArrayList<>();
    for (int b = 0; b < (64 << 20) / BLOCK; b++) {
      byte[] data = new byte[BLOCK];
      int kind = r.nextInt(10);
      if (kind < 3) {
        // zeros (unallocated or freed space)
      } else if (kind < 6) {
        for (int i = 0; i < data.length; i++) { // text and binaries: low entropy
          data[i] = (byte) ("the quick brown fox ".charAt((i + b) % 20) ^ (r.nextInt(16) == 0
              ? r.nextInt(256) : 0));
        }
      } else if (kind < 8) {
        for (int i = 0; i < data.length; i += 8) { // sparse structures (tables, bitmaps)
          data[i] = (byte) r.nextInt(256);
        }
      } else {
        r.nextBytes(data); // compressed media, encrypted files
      }
      blocks.add(data);
    }
    return blocks;
  }

  static double mbps(long bytes, long nanos) {
    return bytes / (nanos / 1e9) / (1 << 20);
  }

  static double nioCopy(List<byte[]> blocks, long total) throws Exception {
    try (ServerSocketChannel server = ServerSocketChannel.open()) {
      server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
      Thread reader = new Thread(() -> {
        try (SocketChannel in = server.accept()) {
          ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20);
          long got = 0;
          while (got < total) {
            int n = in.read(buf);
            if (n < 0) {
              break;
            }
            got += n;
            buf.clear();
          }
        } catch (IOException e) {
          throw new RuntimeException(e);
        }
      });
      reader.start();
      try (SocketChannel out = SocketChannel.open(server.getLocalAddress())) {
        long start = System.nanoTime();
        long sent = 0;
        int i = 0;
        while (sent < total) {
          ByteBuffer b = ByteBuffer.wrap(blocks.get(i++ % blocks.size()));
          while (b.hasRemaining()) {
            sent += out.write(b);
          }
        }
        reader.join();
        return mbps(total, System.nanoTime() - start);
      }
    }
  }

  static double aesGcm(List<byte[]> blocks, long total) throws Exception {
    KeyGenerator g = KeyGenerator.getInstance("AES");
    g.init(128);
    SecretKey key = g.generateKey();
    Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
    byte[] iv = new byte[12];
    byte[] out = new byte[16 * 1024 + 16];
    long start = System.nanoTime();
    long done = 0;
    long counter = 0;
    int i = 0;
    while (done < total) {
      byte[] block = blocks.get(i++ % blocks.size());
      for (int off = 0; off < block.length; off += 16 * 1024) { // TLS record size
        ByteBuffer.wrap(iv).putLong(4, counter++);
        c.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(128, iv));
        c.doFinal(block, off, 16 * 1024, out, 0);
      }
      done += block.length;
    }
    return mbps(total, System.nanoTime() - start);
  }

  static double zstd(List<byte[]> blocks, long total) {
    long start = System.nanoTime();
    long done = 0;
    int i = 0;
    long packed = 0;
    while (done < total) {
      byte[] block = blocks.get(i++ % blocks.size());
      packed += Zstd.compress(block, 1).length;
      done += block.length;
    }
    double rate = mbps(total, System.nanoTime() - start);
    ratio = (double) done / packed;
    return rate;
  }

  /** Sends {@code total} bytes of blocks primary to replica, respecting back-pressure. */
  static double transport(Transport primary, Transport replica, ConnectOptions options,
      String host, List<byte[]> blocks, long total) throws Exception {
    AtomicLong received = new AtomicLong();
    CountDownLatch done = new CountDownLatch(1);
    MessageHandler sink = new MessageHandler() {
      @Override
      public void onMessage(Connection connection, Message message) {
        if (message instanceof Message.BlockData
            && received.addAndGet(((Message.BlockData) message).data().length) >= total) {
          done.countDown();
        }
      }

      @Override
      public void onClosed(Connection connection, @Nullable Throwable cause) {}
    };
    Semaphore writable = new Semaphore(0);
    MessageHandler sender = new MessageHandler() {
      @Override
      public void onMessage(Connection connection, Message message) {}

      @Override
      public void onWritable(Connection connection) {
        writable.release();
      }

      @Override
      public void onClosed(Connection connection, @Nullable Throwable cause) {
        writable.release(1000);
      }
    };
    Transport.Listener l = replica.listen(new io.replica.spi.transport.Endpoint("127.0.0.1", 0),
        options.authentication(), c -> sink);
    Connection c = primary.connect(new io.replica.spi.transport.Endpoint(host,
        l.endpoint().port()), options, sender).get(30, TimeUnit.SECONDS);
    long start = System.nanoTime();
    long sent = 0;
    long seq = 0;
    int i = 0;
    while (sent < total) {
      while (!c.isWritable()) {
        writable.tryAcquire(10, TimeUnit.MILLISECONDS);
      }
      byte[] block = blocks.get(i++ % blocks.size());
      c.send(new Message.BlockData(VM, 1, ++seq, DISK, sent, block));
      sent += block.length;
    }
    if (!done.await(300, TimeUnit.SECONDS)) {
      throw new IllegalStateException("only " + received.get() + " of " + total + " arrived");
    }
    double rate = mbps(total, System.nanoTime() - start);
    c.close();
    l.close();
    return rate;
  }

  /**
   * Runs everything once and prints a table.
   *
   * @param args optional: MiB to move per measurement (default 512)
   */
  public static void main(String[] args) throws Exception {
    long total = (args.length > 0 ? Long.parseLong(args[0]) : 512) << 20;
    List<byte[]> blocks = diskImageBlocks(2026);
    TlsCredentials ca = Certificates.newCa("Bench CA", Duration.ofDays(1));
    NettyTransport plainA = NettyTransport.builder().hostName("primary.bench").plaintext()
        .build();
    NettyTransport plainB = NettyTransport.builder().hostName("replica.bench").plaintext()
        .build();
    NettyTransport tlsA = NettyTransport.builder().hostName("primary.bench")
        .tls(TlsSettings.of(Certificates.issue(ca, "primary.bench", Duration.ofDays(1)),
            List.of(ca.certificate()))).build();
    NettyTransport tlsB = NettyTransport.builder().hostName("replica.bench")
        .tls(TlsSettings.of(Certificates.issue(ca, List.of("replica.bench", "localhost"),
            Duration.ofDays(1)), List.of(ca.certificate()))).build();
    NettyTransport jdkA = NettyTransport.builder().hostName("primary.bench").jdkTls()
        .tls(TlsSettings.of(Certificates.issue(ca, "primary.bench", Duration.ofDays(1)),
            List.of(ca.certificate()))).build();
    NettyTransport jdkB = NettyTransport.builder().hostName("replica.bench").jdkTls()
        .tls(TlsSettings.of(Certificates.issue(ca, List.of("replica.bench", "localhost"),
            Duration.ofDays(1)), List.of(ca.certificate()))).build();
    ConnectOptions tls = new ConnectOptions(AuthenticationType.CERTIFICATE, false);
    ConnectOptions tlsZstd = new ConnectOptions(AuthenticationType.CERTIFICATE, true);
    try {
      // Warm-up of every path (JIT, TLS session, pools), then the measured runs.
      long warm = Math.min(total, 128L << 20);
      nioCopy(blocks, warm);
      aesGcm(blocks, warm);
      zstd(blocks, warm);
      transport(plainA, plainB, tls, "127.0.0.1", blocks, warm);
      transport(tlsA, tlsB, tls, "localhost", blocks, warm);
      transport(tlsA, tlsB, tlsZstd, "localhost", blocks, warm);
      transport(jdkA, jdkB, tls, "localhost", blocks, warm);

      System.out.printf(Locale.ROOT, "Moving %d MiB of disk-image-like data (%d KiB blocks),"
          + " %d cores%n", total >> 20, BLOCK >> 10, Runtime.getRuntime().availableProcessors());
      System.out.printf(Locale.ROOT, "TLS implementation: %s (TLS, TLS + zstd), %s (TLS on the"
          + " JDK)%n", tlsA.tlsImplementation(), jdkA.tlsImplementation());
      // Best of three rounds, interleaved, so that a burst of other load on the machine hurts
      // a stage and a configuration alike rather than one of them.
      double nio = 0;
      double aes = 0;
      double z = 0;
      double plain = 0;
      double secure = 0;
      double secureZ = 0;
      double secureJdk = 0;
      for (int round = 0; round < 3; round++) {
        nio = Math.max(nio, nioCopy(blocks, total));
        aes = Math.max(aes, aesGcm(blocks, total));
        z = Math.max(z, zstd(blocks, total));
        plain = Math.max(plain, transport(plainA, plainB, tls, "127.0.0.1", blocks, total));
        secure = Math.max(secure, transport(tlsA, tlsB, tls, "localhost", blocks, total));
        secureZ = Math.max(secureZ, transport(tlsA, tlsB, tlsZstd, "localhost", blocks, total));
        secureJdk = Math.max(secureJdk, transport(jdkA, jdkB, tls, "localhost", blocks, total));
      }
      System.out.printf(Locale.ROOT, "zstd level 1 compresses this data %.2f : 1%n", ratio);
      System.out.printf(Locale.ROOT, "%-24s %10s%n", "stage alone (best of 3)", "MiB/s");
      System.out.printf(Locale.ROOT, "%-24s %10.0f%n", "NIO socket copy", nio);
      System.out.printf(Locale.ROOT, "%-24s %10.0f%n", "JDK AES-128-GCM", aes);
      System.out.printf(Locale.ROOT, "%-24s %10.0f%n", "zstd-jni level 1", z);
      System.out.printf(Locale.ROOT, "%-24s %10s %14s %8s %s%n", "configuration", "MiB/s",
          "slowest stage", "ratio", "goal >= 60 %");
      row("plain", plain, nio, true);
      row("TLS", secure, Math.min(nio, aes), true);
      row("TLS + zstd", secureZ, Math.min(nio, Math.min(aes, z)), true);
      row("TLS on the JDK", secureJdk, Math.min(nio, aes), false);
    } finally {
      plainA.close();
      plainB.close();
      tlsA.close();
      tlsB.close();
      jdkA.close();
      jdkB.close();
    }
  }

  /** One configuration; {@code goal} false for a row shown only for comparison. */
  private static void row(String name, double rate, double slowest, boolean goal) {
    double ratio = rate / slowest;
    System.out.printf(Locale.ROOT, "%-24s %10.0f %14.0f %7.0f%% %s%n", name, rate, slowest,
        ratio * 100, !goal ? "(for comparison)" : ratio >= 0.6 ? "met" : "NOT met");
  }
}
