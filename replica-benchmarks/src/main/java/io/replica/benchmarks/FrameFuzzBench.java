package io.replica.benchmarks;

import com.github.luben.zstd.Zstd;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.ResourceLeakDetector;
import io.netty.util.ResourceLeakDetectorFactory;
import io.replica.api.DiskId;
import io.replica.api.VmId;
import io.replica.spi.transport.Connection;
import io.replica.spi.transport.Endpoint;
import io.replica.spi.transport.Message;
import io.replica.spi.transport.MessageHandler;
import io.replica.transport.netty.internal.codec.Frame;
import io.replica.transport.netty.internal.codec.FrameDecoder;
import io.replica.transport.netty.internal.codec.FrameEncoder;
import io.replica.transport.netty.internal.codec.WireFormat;
import io.replica.transport.netty.internal.handler.Admission;
import io.replica.transport.netty.internal.handler.ChannelSettings;
import io.replica.transport.netty.internal.handler.ConnectionHandler;
import io.replica.transport.netty.internal.handler.Mailboxes;
import io.replica.transport.netty.internal.handler.PlainAuthenticator;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.CRC32C;
import org.jspecify.annotations.Nullable;

/**
 * The long run of the frame decoder's fuzz test (issue 11): hostile byte streams — random bytes,
 * mutated and truncated valid streams, huge lengths, bad CRCs, junk and oversized zstd payloads —
 * before and after the hello, fed in random chunks into the accepting pipeline (decoder, encoder,
 * protocol handler) under Netty's paranoid leak detection. It counts what must stay zero:
 * escapes (a failure that was not a clean protocol error: an exception out of the pipeline, or a
 * close without an error frame to the peer), leaks (reports of the leak detector, and input
 * buffers the pipeline did not release), and messages delivered that were never sent.
 *
 * <p>Run: {@code java -Xmx512m -cp replica-benchmarks/target/benchmarks.jar
 * io.replica.benchmarks.FrameFuzzBench [frames, default 1000000] [seed]}.
 */
public final class FrameFuzzBench {
  private static final AtomicLong LEAK_REPORTS = new AtomicLong();
  private static final VmId VM = VmId.of(new UUID(5, 6));
  private static final byte[] BOMB = Zstd.compress(new byte[WireFormat.BLOCK_SIZE_BYTES_MAX], 19);

  private long frames;
  private long connections;
  private long beforeHello;
  private long refused;
  private long waiting;
  private long closedByPeer;
  private long escapes;
  private long unreleased;
  private long phantoms;
  private long delivered;
  private @Nullable String firstEscape;

  private FrameFuzzBench() {}

  /** Counts every leak the paranoid detector reports, whatever the log configuration. */
  private static final class CountingLeaks extends ResourceLeakDetectorFactory {
    @Override
    public <T> ResourceLeakDetector<T> newResourceLeakDetector(Class<T> resource,
        int samplingInterval, long maxActive) {
      return new ResourceLeakDetector<T>(resource, samplingInterval) {
        @Override
        protected boolean needReport() {
          return true;
        }

        @Override
        protected void reportTracedLeak(String resourceType, String records) {
          LEAK_REPORTS.incrementAndGet();
          System.err.println("LEAK: " + resourceType + records);
        }

        @Override
        protected void reportUntracedLeak(String resourceType) {
          LEAK_REPORTS.incrementAndGet();
          System.err.println("LEAK: " + resourceType);
        }
      };
    }
  }

  /** What the engine's handler saw. */
  private static final class Recorder implements MessageHandler {
    final List<Message> messages = new ArrayList<>();

    @Override
    public void onMessage(Connection connection, Message message) {
      messages.add(message);
    }

    @Override
    public void onClosed(Connection connection, @Nullable Throwable cause) {}
  }

  public static void main(String[] args) {
    // Before any buffer class loads, so that every detector counts.
    ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.valueOf(
        System.getProperty("leakDetection", "PARANOID")));
    ResourceLeakDetectorFactory.setResourceLeakDetectorFactory(new CountingLeaks());
    long target = args.length > 0 ? Long.parseLong(args[0]) : 1_000_000;
    long seed = args.length > 1 ? Long.parseLong(args[1]) : 11;
    new FrameFuzzBench().run(target, seed);
  }

  private void run(long target, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    long start = System.nanoTime();
    while (frames < target) {
      fuzzOne(r);
      if (connections % 50_000 == 0) {
        System.gc(); // lets the leak detector see buffers that nobody released
      }
    }
    System.gc();
    // The detector reports on a later allocation: make some.
    for (int i = 0; i < 1000; i++) {
      Unpooled.directBuffer(64).release();
      Unpooled.buffer(64).release();
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    long peak = 0;
    for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
      if (pool.getType() == MemoryType.HEAP) {
        peak += pool.getPeakUsage().getUsed();
      }
    }
    System.out.println("frame decoder fuzz, seed " + seed + ", Netty leak detection "
        + ResourceLeakDetector.getLevel());
    System.out.printf(Locale.ROOT, "frames      %,d in %,d connections (%,d before the hello)%n",
        frames, connections, beforeHello);
    System.out.printf(Locale.ROOT, "time        %.1f s (%,.0f frames/s)%n", seconds,
        frames / seconds);
    System.out.printf(Locale.ROOT, "outcome     %,d refused with a protocol error frame, %,d"
        + " closed by the peer's error frame, %,d waiting for more bytes, %,d messages"
        + " delivered%n", refused, closedByPeer, waiting, delivered);
    System.out.printf(Locale.ROOT, "escapes     %,d%s%n", escapes,
        firstEscape == null ? "" : " (first: " + firstEscape + ")");
    System.out.printf(Locale.ROOT, "leaks       %,d (leak detector reports %,d, input buffers"
        + " not released %,d)%n", LEAK_REPORTS.get() + unreleased, LEAK_REPORTS.get(),
        unreleased);
    System.out.printf(Locale.ROOT, "phantoms    %,d messages delivered that were not sent%n",
        phantoms);
    System.out.printf(Locale.ROOT, "peak heap   %,d MiB (sum of the heap pools' peaks; max %,d"
        + " MiB)%n", peak >> 20, Runtime.getRuntime().maxMemory() >> 20);
  }

  private void fuzzOne(SplittableRandom r) {
    connections++;
    boolean hello = r.nextInt(3) > 0;
    if (!hello) {
      beforeHello++;
    }
    List<Frame> valid = new ArrayList<>();
    List<Message> sent = new ArrayList<>();
    if (hello) {
      valid.add(new Frame.Hello(1, 1, WireFormat.FEATURE_ZSTD, "primary.test"));
    }
    // Many frames per connection, as a real stream has, with the hostile part at its end.
    for (int k = r.nextInt(40); k > 0; k--) {
      Message m = message(r);
      sent.add(m);
      valid.add(new Frame.Data(m));
    }
    byte[] prefix = encode(valid, r.nextBoolean());
    // The messages share one stream, opened by one more frame before the first of them.
    long count = valid.size() + (sent.isEmpty() ? 0 : 1);
    boolean peerCloses = false;
    byte[] tail;
    int kind = r.nextInt(8);
    switch (prefix.length == 0 && kind == 4 ? 0 : kind) {
      case 0: // random bytes, sometimes behind a plausible length
        tail = new byte[1 + r.nextInt(3000)];
        r.nextBytes(tail);
        if (r.nextBoolean() && tail.length > 14) {
          tail[0] = 0;
          tail[1] = 0;
          tail[2] = (byte) ((tail.length - 4) >> 8);
          tail[3] = (byte) (tail.length - 4);
        }
        count++;
        break;
      case 1: { // a huge length
        tail = new byte[4 + r.nextInt(64)];
        r.nextBytes(tail);
        long huge = r.nextBoolean() ? WireFormat.FRAME_SIZE_BYTES_MAX + 1L
            + r.nextLong(0xFFFF_FFFFL - WireFormat.FRAME_SIZE_BYTES_MAX)
            : WireFormat.HANDSHAKE_LENGTH_MAX + 1 + r.nextInt(WireFormat.FRAME_SIZE_BYTES_MAX);
        tail[0] = (byte) (huge >>> 24);
        tail[1] = (byte) (huge >>> 16);
        tail[2] = (byte) (huge >>> 8);
        tail[3] = (byte) huge;
        count++;
        break;
      }
      case 2: // a bad CRC
        tail = frame(WireFormat.TYPE_STREAM_OPEN, 0, 1 + r.nextInt(1000), uuid(r));
        tail[tail.length - 1 - r.nextInt(4)] ^= (byte) (1 + r.nextInt(255));
        count++;
        break;
      case 3: { // a junk compressed payload, or a valid one cut short
        byte[] packed;
        int raw = 1 + r.nextInt(WireFormat.BLOCK_SIZE_BYTES_MAX);
        if (r.nextBoolean()) {
          packed = new byte[r.nextInt(3000)];
          r.nextBytes(packed);
        } else {
          byte[] data = new byte[1 + r.nextInt(65536)];
          for (int i = 0; i < data.length; i += 13) {
            data[i] = (byte) r.nextInt();
          }
          byte[] whole = Zstd.compress(data, 1);
          packed = Arrays.copyOf(whole, Math.max(0, whole.length - 1 - r.nextInt(8)));
          raw = data.length;
        }
        tail = concat(frame(WireFormat.TYPE_STREAM_OPEN, 0, 1000, uuid(r)),
            compressedBlock(1000, raw, packed));
        count += 2;
        break;
      }
      case 4: { // a valid stream with bits flipped, or cut short
        tail = new byte[0];
        if (r.nextBoolean()) {
          for (int n = 1 + r.nextInt(3); n > 0; n--) {
            int at = r.nextInt(prefix.length);
            prefix[at] ^= (byte) (1 << r.nextInt(8));
          }
        } else {
          prefix = Arrays.copyOf(prefix, r.nextInt(prefix.length));
        }
        break;
      }
      case 5: // before the hello only: 588 bytes that claim 16 MiB (after it, a valid block)
        tail = hello ? new byte[0] : concat(frame(WireFormat.TYPE_STREAM_OPEN, 0, 1000,
            uuid(r)), compressedBlock(1000, WireFormat.BLOCK_SIZE_BYTES_MAX, BOMB));
        count += hello ? 0 : 2;
        break;
      case 6: { // an error frame whose reason tries to forge log lines
        String reason = "bye\n2026-12-03 INFO accepted\r\u2028" + "x".repeat(r.nextInt(3000));
        byte[] text = reason.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        ByteBuf b = Unpooled.buffer().writeShort(1).writeShort(text.length).writeBytes(text);
        tail = frame(WireFormat.TYPE_ERROR, 0, 0, Arrays.copyOf(b.array(), b.writerIndex()));
        b.release();
        count++;
        peerCloses = true;
        break;
      }
      default: // the valid stream alone
        tail = new byte[0];
        break;
    }
    frames += count;
    feed(concat(prefix, tail), sent, peerCloses, r);
  }

  private void feed(byte[] bytes, List<Message> sent, boolean peerCloses, SplittableRandom r) {
    if (bytes.length == 0) {
      waiting++; // nothing sent: a connection that waits for its first byte
      return;
    }
    Recorder rec = new Recorder();
    Admission counters = Admission.unbounded();
    ChannelSettings settings = new ChannelSettings("replica.test", 1, Duration.ofMinutes(5),
        1 << 20, new Mailboxes(Runnable::run), identity -> Optional.empty(), d -> { },
        Duration.ofMinutes(5), counters);
    EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder(), new FrameEncoder(),
        ConnectionHandler.accepting(settings, new PlainAuthenticator(),
            new Endpoint("127.0.0.1", 40000), true, c -> rec));
    ByteBuf in = Unpooled.wrappedBuffer(bytes);
    try {
      while (in.isReadable() && ch.isOpen()) {
        ch.writeInbound(in.readRetainedSlice(Math.min(in.readableBytes(), 1 + r.nextInt(4096))));
      }
      ch.runPendingTasks();
      ch.checkException();
      boolean errorFrame = false;
      EmbeddedChannel replies = new EmbeddedChannel(FrameDecoder.opened());
      ByteBuf out;
      while ((out = ch.readOutbound()) != null) {
        replies.writeInbound(out);
      }
      Object f;
      while ((f = replies.readInbound()) != null) {
        errorFrame |= f instanceof Frame.Error
            && ((Frame.Error) f).code() == WireFormat.ERROR_PROTOCOL;
      }
      replies.finishAndReleaseAll();
      if (!ch.isOpen()) {
        if (errorFrame && counters.protocolErrors() == 1) {
          refused++;
        } else if (peerCloses) {
          closedByPeer++;
        } else {
          escape("closed without a protocol error frame");
        }
      } else {
        waiting++;
      }
      delivered += rec.messages.size();
      for (int i = 0; i < rec.messages.size(); i++) {
        Message got = rec.messages.get(i);
        if (i >= sent.size() || !same(sent.get(i), got)) {
          phantoms++;
          break;
        }
      }
    } catch (Exception e) { // what checkException rethrows, checked or not
      escape(e.toString());
    } finally {
      ch.finishAndReleaseAll();
      if (!in.release()) {
        unreleased++;
      }
    }
  }

  private void escape(String what) {
    escapes++;
    if (firstEscape == null) {
      firstEscape = what;
    }
  }

  private static boolean same(Message a, Message b) {
    if (a instanceof Message.BlockData && b instanceof Message.BlockData) {
      Message.BlockData x = (Message.BlockData) a;
      Message.BlockData y = (Message.BlockData) b;
      return x.toString().equals(y.toString()) && Arrays.equals(x.data(), y.data());
    }
    return a.equals(b);
  }

  private static Message message(SplittableRandom r) {
    switch (r.nextInt(6)) {
      case 0: {
        byte[] data = new byte[r.nextInt(2000)];
        if (r.nextBoolean()) {
          r.nextBytes(data);
        } else {
          for (int i = 0; i < data.length; i += 9) {
            data[i] = (byte) r.nextInt();
          }
        }
        return new Message.BlockData(VM, r.nextLong(), r.nextLong(), DiskId.of(new UUID(1, 2)),
            r.nextLong(0, 1L << 40), data);
      }
      case 1:
        return new Message.ZeroRun(VM, r.nextLong(), r.nextLong(), DiskId.of(new UUID(1, 2)),
            r.nextLong(0, 1L << 40), r.nextLong(1, 1L << 30));
      case 2:
        return new Message.CycleBegin(VM, r.nextLong(), r.nextLong(), null, null,
            r.nextBoolean());
      case 3:
        return new Message.CycleEnd(VM, r.nextLong(), r.nextLong(), r.nextLong(), r.nextInt());
      case 4:
        return new Message.CycleRejected(VM, r.nextLong(), "reason " + r.nextInt(),
            r.nextBoolean());
      default:
        return new Message.CycleAck(VM, r.nextLong());
    }
  }

  private static byte[] encode(List<Frame> frames, boolean compress) {
    EmbeddedChannel out = new EmbeddedChannel(new FrameEncoder());
    if (compress) {
      out.pipeline().get(FrameEncoder.class).enableCompression(1);
    }
    for (Frame f : frames) {
      out.writeOutbound(f);
    }
    ByteBuf all = Unpooled.buffer();
    ByteBuf part;
    while ((part = out.readOutbound()) != null) {
      all.writeBytes(part);
      part.release();
    }
    out.finishAndReleaseAll();
    byte[] bytes = new byte[all.readableBytes()];
    all.readBytes(bytes);
    all.release();
    return bytes;
  }

  private static byte[] uuid(SplittableRandom r) {
    ByteBuf b = Unpooled.buffer(16).writeLong(r.nextLong()).writeLong(r.nextLong());
    byte[] bytes = b.array().clone();
    b.release();
    return bytes;
  }

  /** One frame with a correct length and CRC around {@code body}, as a hostile peer writes it. */
  private static byte[] frame(int type, int flags, int stream, byte[] body) {
    ByteBuf b = Unpooled.buffer(body.length + 14);
    b.writeInt(body.length + WireFormat.LENGTH_MIN).writeByte(type).writeByte(flags)
        .writeInt(stream).writeBytes(body);
    CRC32C crc = new CRC32C();
    crc.update(b.nioBuffer(0, b.writerIndex()));
    b.writeInt((int) crc.getValue());
    byte[] bytes = new byte[b.readableBytes()];
    b.readBytes(bytes);
    b.release();
    return bytes;
  }

  private static byte[] compressedBlock(int stream, int rawLength, byte[] packed) {
    ByteBuf b = Unpooled.buffer(48 + packed.length).writeLong(1).writeLong(1).writeLong(3)
        .writeLong(4).writeLong(0).writeInt(rawLength).writeBytes(packed);
    byte[] body = new byte[b.readableBytes()];
    b.readBytes(body);
    b.release();
    return frame(WireFormat.TYPE_BLOCK_DATA, WireFormat.FLAG_COMPRESSED, stream, body);
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] all = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, all, a.length, b.length);
    return all;
  }
}
