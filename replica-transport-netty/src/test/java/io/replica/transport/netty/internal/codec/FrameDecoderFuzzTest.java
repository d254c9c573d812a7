package io.replica.transport.netty.internal.codec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.replica.api.VmId;
import io.replica.spi.transport.Connection;
import io.replica.spi.transport.Message;
import io.replica.spi.transport.MessageHandler;
import com.github.luben.zstd.Zstd;
import io.replica.transport.netty.internal.handler.Admission;
import io.replica.transport.netty.internal.handler.ChannelSettings;
import io.replica.transport.netty.internal.handler.ConnectionHandler;
import io.replica.transport.netty.internal.handler.Mailboxes;
import io.replica.transport.netty.internal.handler.PlainAuthenticator;
import io.replica.spi.transport.Endpoint;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.UUID;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

/**
 * Hostile bytes against an accepting pipeline (decoder, encoder, protocol handler): the
 * connection must close with a protocol error frame to the peer, no exception may reach the end
 * of the pipeline, no message of a bad frame may reach the engine, and no buffer may leak (the
 * module's tests run with Netty's paranoid leak detection).
 */
class FrameDecoderFuzzTest {

  private static final VmId VM = new VmId(new UUID(5, 6));

  /** What the engine's handler saw. */
  static final class Recorder implements MessageHandler {
    final List<Message> messages = new ArrayList<>();
    final List<Throwable> closes = new ArrayList<>();
    int closeCalls;

    @Override
    public void onMessage(Connection connection, Message message) {
      messages.add(message);
    }

    @Override
    public void onClosed(Connection connection, @Nullable Throwable cause) {
      closeCalls++;
      if (cause != null) {
        closes.add(cause);
      }
    }
  }

  private static EmbeddedChannel server(Recorder recorder) {
    return server(recorder, Admission.unbounded());
  }

  private static EmbeddedChannel server(Recorder recorder, Admission admission) {
    ChannelSettings settings = new ChannelSettings("replica.test", 1, Duration.ofMinutes(5),
        1 << 20, new Mailboxes(Runnable::run), identity -> java.util.Optional.empty(),
        decision -> { }, Duration.ofMinutes(5), admission);
    return new EmbeddedChannel(new FrameDecoder(), new FrameEncoder(),
        ConnectionHandler.accepting(settings, new PlainAuthenticator(),
            new Endpoint("127.0.0.1", 40000), true, c -> recorder));
  }

  private static ByteBuf validStream(SplittableRandom r, int messages) {
    List<Frame> frames = new ArrayList<>();
    frames.add(new Frame.Hello(1, 1, 0, "primary.test"));
    for (int i = 0; i < messages; i++) {
      frames.add(new Frame.Data(Messages.random(r, List.of(VM))));
    }
    return FrameCodecProperties.encode(frames, r.nextBoolean());
  }

  /** Feeds {@code bytes} and checks the rules; returns the frames the server wrote back. */
  private static List<Frame> feedAndCheck(ByteBuf bytes, Recorder recorder, boolean mustFail,
      SplittableRandom r) {
    return feedAndCheck(bytes, recorder, mustFail, r, 5000, Admission.unbounded());
  }

  /** The same, in chunks of at most {@code chunkMax} bytes, counting in {@code admission}. */
  private static List<Frame> feedAndCheck(ByteBuf bytes, Recorder recorder, boolean mustFail,
      SplittableRandom r, int chunkMax, Admission admission) {
    EmbeddedChannel ch = server(recorder, admission);
    try {
      while (bytes.isReadable() && ch.isOpen()) {
        int n = Math.min(bytes.readableBytes(), 1 + r.nextInt(chunkMax));
        ch.writeInbound(bytes.readRetainedSlice(n));
      }
      ch.runPendingTasks();
      ch.checkException(); // nothing escaped the pipeline
      List<Frame> written = new ArrayList<>();
      EmbeddedChannel reader = new EmbeddedChannel(FrameDecoder.opened());
      ByteBuf out;
      while ((out = ch.readOutbound()) != null) {
        reader.writeInbound(out);
      }
      Object f;
      while ((f = reader.readInbound()) != null) {
        written.add((Frame) f);
      }
      assertFalse(reader.finishAndReleaseAll(), "decoder of replies left frames");
      if (mustFail) {
        assertFalse(ch.isOpen(), "the connection must close on bad input");
        assertTrue(written.stream().anyMatch(x -> x instanceof Frame.Error
            && ((Frame.Error) x).code() == WireFormat.ERROR_PROTOCOL), "an error frame: "
            + written);
      }
      if (!ch.isOpen() && recorder.closeCalls > 0) {
        assertEquals(1, recorder.closeCalls, "onClosed exactly once");
      }
      return written;
    } finally {
      ch.finishAndReleaseAll();
      // Every chunk fed was a retained slice of bytes: if the pipeline released each one it
      // took, this last release frees the buffer. A leaked chunk would keep it alive.
      assertTrue(bytes.release(), "the pipeline leaked a buffer it was given (refCnt "
          + bytes.refCnt() + ")");
    }
  }

  @Test
  void leakDetectionIsParanoid() {
    assertEquals(io.netty.util.ResourceLeakDetector.Level.PARANOID,
        io.netty.util.ResourceLeakDetector.getLevel(),
        "the module's surefire configuration sets io.netty.leakDetectionLevel=paranoid");
  }

  @Test
  void randomBytesCloseTheConnectionWithAProtocolError() {
    SplittableRandom r = new SplittableRandom(42);
    int closed = 0;
    for (int i = 0; i < 300; i++) {
      byte[] junk = new byte[1 + r.nextInt(3000)];
      r.nextBytes(junk);
      if (r.nextBoolean()) {
        // A plausible length prefix makes the decoder read a whole frame and reach the CRC.
        int len = Math.min(junk.length - 4, WireFormat.LENGTH_MIN + r.nextInt(200));
        if (len >= WireFormat.LENGTH_MIN) {
          junk[0] = 0;
          junk[1] = 0;
          junk[2] = (byte) (len >> 8);
          junk[3] = (byte) len;
        }
      }
      Recorder rec = new Recorder();
      ByteBuf in = Unpooled.wrappedBuffer(junk);
      List<Frame> written = feedAndCheck(in, rec, false, r);
      assertTrue(rec.messages.isEmpty(), "random bytes made a message: " + rec.messages);
      if (written.stream().anyMatch(x -> x instanceof Frame.Error)) {
        closed++;
      }
    }
    // The rest stopped at a plausible length prefix and wait for more bytes (the heartbeat
    // timeout ends those connections).
    assertTrue(closed > 250, "most random inputs close at once: " + closed + " of 300");
  }

  @Test
  void mutatedValidFramesNeverDeliverWhatWasNotSent() {
    SplittableRandom r = new SplittableRandom(7);
    int closed = 0;
    for (int i = 0; i < 300; i++) {
      List<Message> sent = new ArrayList<>();
      int count = 1 + r.nextInt(6);
      List<Frame> frames = new ArrayList<>();
      frames.add(new Frame.Hello(1, 1, 0, "primary.test"));
      for (int k = 0; k < count; k++) {
        Message m = Messages.random(r, List.of(VM));
        sent.add(m);
        frames.add(new Frame.Data(m));
      }
      ByteBuf stream = FrameCodecProperties.encode(frames, r.nextBoolean());
      int at = r.nextInt(stream.readableBytes());
      stream.setByte(at, stream.getByte(at) ^ (1 << r.nextInt(8)));
      Recorder rec = new Recorder();
      List<Frame> written = feedAndCheck(stream, rec, false, r);
      // A flipped bit is caught by the length check or the CRC (or leaves the decoder waiting
      // for bytes that a longer length promised): what arrives is a prefix of what was sent.
      assertTrue(rec.messages.size() < count, "a corrupted stream delivered every message");
      for (int k = 0; k < rec.messages.size(); k++) {
        assertTrue(Messages.same(sent.get(k), rec.messages.get(k)), "message " + k);
      }
      if (written.stream().anyMatch(x -> x instanceof Frame.Error)) {
        closed++;
      }
    }
    assertTrue(closed > 200, "most corruptions close at once: " + closed);
  }

  @Test
  void truncatedFramesDeliverOnlyCompleteOnes() {
    SplittableRandom r = new SplittableRandom(11);
    for (int i = 0; i < 100; i++) {
      int count = 1 + r.nextInt(5);
      ByteBuf stream = validStream(r, count);
      ByteBuf cut = stream.readRetainedSlice(r.nextInt(stream.readableBytes()));
      stream.release();
      Recorder rec = new Recorder();
      feedAndCheck(cut, rec, false, r);
      assertTrue(rec.messages.size() < count, "a truncated stream delivered every message");
    }
  }

  @Test
  void hugeLengthPrefixesAreRefusedBeforeTheBodyArrives() {
    for (long length : new long[] {0xFFFF_FFFFL, 0x8000_0000L, WireFormat.FRAME_SIZE_BYTES_MAX + 1L,
        WireFormat.LENGTH_MIN - 1L, 0}) {
      Recorder rec = new Recorder();
      ByteBuf prefix = Unpooled.buffer(4).writeInt((int) length);
      List<Frame> written = feedAndCheck(prefix, rec, true, new SplittableRandom(1));
      assertTrue(((Frame.Error) written.get(written.size() - 1)).reason().contains("length"),
          "the error names the length: " + written);
    }
  }

  @Test
  void aFrameClaimingTheMaximumSizeCostsOnlyWhatArrived() {
    io.netty.buffer.UnpooledByteBufAllocator counting =
        new io.netty.buffer.UnpooledByteBufAllocator(false);
    EmbeddedChannel ch = server(new Recorder());
    ch.config().setAllocator(counting);
    ByteBuf hello = FrameCodecProperties.encode(List.of(new Frame.Hello(1, 1, 0, "a.test")),
        false);
    ch.writeInbound(hello);
    ch.writeInbound(Unpooled.buffer(4).writeInt(WireFormat.FRAME_SIZE_BYTES_MAX));
    for (int i = 0; i < 16; i++) {
      ch.writeInbound(Unpooled.wrappedBuffer(new byte[64 * 1024]));
    }
    // 1 MiB of a 16 MiB frame arrived: the decoder holds those chunks, allocates nothing more.
    assertTrue(counting.metric().usedHeapMemory() + counting.metric().usedDirectMemory()
        < 256 * 1024, "the decoder allocated " + counting.metric());
    assertTrue(ch.isOpen(), "a frame under the maximum waits for its bytes");
    ch.finishAndReleaseAll();
  }

  @Test
  void wrongCrcIsAProtocolError() {
    ByteBuf stream = validStream(new SplittableRandom(3), 2);
    int last = stream.writerIndex() - 1;
    stream.setByte(last, stream.getByte(last) ^ 0x55);
    Recorder rec = new Recorder();
    List<Frame> written = feedAndCheck(stream, rec, true, new SplittableRandom(3));
    assertTrue(((Frame.Error) written.get(written.size() - 1)).reason().contains("CRC-32C"));
    assertEquals(1, rec.messages.size(), "the message before the bad frame arrived");
  }

  @Test
  void messagesOutOfOrderAreProtocolErrors() {
    // A message before the hello.
    ByteBuf noHello = FrameCodecProperties.encode(
        List.of(new Frame.Data(new Message.CycleAck(VM, 1))), false);
    Recorder rec = new Recorder();
    List<Frame> written = feedAndCheck(noHello, rec, true, new SplittableRandom(1));
    assertTrue(((Frame.Error) written.get(0)).reason().contains("hello"), written.toString());
    assertTrue(rec.messages.isEmpty());

    // A second hello.
    ByteBuf twoHellos = FrameCodecProperties.encode(List.of(
        new Frame.Hello(1, 1, 0, "a.test"), new Frame.Hello(1, 1, 0, "a.test")), false);
    written = feedAndCheck(twoHellos, new Recorder(), true, new SplittableRandom(1));
    assertNotNull(written);

    // A message on a stream that was never opened: drop the stream-open frame of a valid pair.
    ByteBuf hello = FrameCodecProperties.encode(List.of(new Frame.Hello(1, 1, 0, "a.test")),
        false);
    ByteBuf pair = FrameCodecProperties.encode(
        List.of(new Frame.Data(new Message.CycleAck(VM, 1))), false);
    int openLength = 4 + pair.getInt(0);
    pair.skipBytes(openLength);
    Recorder rec2 = new Recorder();
    written = feedAndCheck(Unpooled.wrappedBuffer(hello, pair), rec2, true,
        new SplittableRandom(1));
    assertTrue(((Frame.Error) written.get(written.size() - 1)).reason().contains("never opened"),
        written.toString());
    assertTrue(rec2.messages.isEmpty());
  }

  @Test
  void validStreamIsDeliveredAndAnsweredWithHello() {
    SplittableRandom r = new SplittableRandom(5);
    Recorder rec = new Recorder();
    List<Frame> written = feedAndCheck(validStream(r, 20), rec, false, r);
    assertEquals(20, rec.messages.size());
    assertTrue(written.get(0) instanceof Frame.Hello);
  }

  /** A 588-byte zstd frame that expands to 16 MiB of zeros: the bomb of issue 11. */
  private static final byte[] BOMB = Zstd.compress(new byte[WireFormat.BLOCK_SIZE_BYTES_MAX], 19);
  private static final UUID VM_ID = new UUID(5, 6);

  /** Bytes this thread allocated so far (the embedded pipeline runs on it). */
  private static long allocated() {
    return ((com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory
        .getThreadMXBean()).getCurrentThreadAllocatedBytes();
  }

  private static String lastError(List<Frame> written) {
    Frame last = written.get(written.size() - 1);
    assertTrue(last instanceof Frame.Error, "the last frame is an error: " + written);
    return ((Frame.Error) last).reason();
  }

  @Test
  void aCompressedFrameBeforeTheHelloIsRefusedWithoutDecompressingIt() {
    assertTrue(BOMB.length < 1024, "the bomb is small: " + BOMB.length);
    byte[] bytes = RawFrames.concat(RawFrames.streamOpen(1, VM_ID),
        RawFrames.compressedBlock(1, WireFormat.BLOCK_SIZE_BYTES_MAX, BOMB));
    Recorder rec = new Recorder();
    long before = allocated();
    List<Frame> written = feedAndCheck(Unpooled.wrappedBuffer(bytes), rec, true,
        new SplittableRandom(1), 5000, Admission.unbounded());
    long used = allocated() - before;
    assertTrue(used < 4 << 20, "refusing the frame allocated " + used + " bytes");
    assertTrue(lastError(written).contains("before the hello exchange completed"),
        lastError(written));
    assertTrue(rec.messages.isEmpty());
  }

  @Test
  void aFrameOverTheHandshakeMaximumIsRefusedAtItsLength() {
    for (long length : new long[] {WireFormat.HANDSHAKE_LENGTH_MAX + 1L,
        WireFormat.FRAME_SIZE_BYTES_MAX}) {
      Recorder rec = new Recorder();
      ByteBuf prefix = Unpooled.buffer(4).writeInt((int) length);
      List<Frame> written = feedAndCheck(prefix, rec, true, new SplittableRandom(1));
      assertTrue(lastError(written).contains("over the handshake's maximum of "
          + WireFormat.HANDSHAKE_LENGTH_MAX), lastError(written));
    }
    // The largest handshake frame itself waits for its bytes.
    EmbeddedChannel ch = server(new Recorder());
    ch.writeInbound(Unpooled.buffer(4).writeInt(WireFormat.HANDSHAKE_LENGTH_MAX));
    assertTrue(ch.isOpen(), "a handshake frame of the maximum size is allowed");
    ch.finishAndReleaseAll();
  }

  @Test
  void nothingIsDecodedAfterTheConnectionWasRefused() {
    // A second hello is refused by the protocol handler, not the decoder; the bomb is in the
    // same read, behind it.
    byte[] bytes = RawFrames.concat(RawFrames.hello("primary.test"),
        RawFrames.hello("primary.test"), RawFrames.streamOpen(1, VM_ID),
        RawFrames.compressedBlock(1, WireFormat.BLOCK_SIZE_BYTES_MAX, BOMB));
    Recorder rec = new Recorder();
    long before = allocated();
    List<Frame> written = feedAndCheck(Unpooled.wrappedBuffer(bytes), rec, true,
        new SplittableRandom(1), Integer.MAX_VALUE - 1, Admission.unbounded());
    long used = allocated() - before;
    assertTrue(used < 4 << 20, "after the refusal the decoder allocated " + used + " bytes");
    assertTrue(lastError(written).contains("second hello"), lastError(written));
    assertTrue(rec.messages.isEmpty());
  }

  @Test
  void junkCompressedDataIsAProtocolErrorBeforeAndAfterTheHello() {
    byte[] junk = new byte[600];
    new SplittableRandom(9).nextBytes(junk);
    byte[] disk = new byte[65536];
    for (int i = 0; i < disk.length; i += 7) {
      disk[i] = (byte) i;
    }
    byte[] whole = Zstd.compress(disk, 1);
    // A correct header that promises 64 KiB, then data cut short: zstd itself fails on it.
    byte[] truncated = java.util.Arrays.copyOf(whole, whole.length - 10);
    for (boolean hello : new boolean[] {false, true}) {
      for (byte[] packed : new byte[][] {junk, truncated}) {
        Admission counted = Admission.unbounded();
        Recorder rec = new Recorder();
        byte[] bytes = RawFrames.concat(hello ? RawFrames.hello("primary.test") : new byte[0],
            RawFrames.streamOpen(1, VM_ID), RawFrames.compressedBlock(1, disk.length, packed));
        List<Frame> written = feedAndCheck(Unpooled.wrappedBuffer(bytes), rec, true,
            new SplittableRandom(2), 5000, counted);
        assertTrue(rec.messages.isEmpty(), "nothing of a bad block is delivered");
        assertEquals(1, counted.protocolErrors(), "the protocol error is counted");
        String reason = lastError(written);
        assertTrue(hello ? reason.contains("compressed block")
            : reason.contains("before the hello"), reason);
      }
    }
  }

  /**
   * Every kind of hostile input, before and after the hello: whatever arrives, nothing escapes
   * the pipeline, no buffer leaks, no message that was not sent is delivered, and input that is
   * certainly bad closes the connection with a protocol error frame.
   */
  @Test
  void hostileFramesBeforeAndAfterTheHello() {
    SplittableRandom r = new SplittableRandom(1111);
    for (int i = 0; i < 1500; i++) {
      boolean hello = r.nextBoolean();
      List<Message> sent = new ArrayList<>();
      List<Frame> frames = new ArrayList<>();
      if (hello) {
        frames.add(new Frame.Hello(1, 1, WireFormat.FEATURE_ZSTD, "primary.test"));
      }
      for (int k = r.nextInt(4); k > 0; k--) {
        Message m = Messages.random(r, List.of(VM));
        sent.add(m);
        frames.add(new Frame.Data(m));
      }
      ByteBuf valid = FrameCodecProperties.encode(frames, r.nextBoolean());
      byte[] prefix = new byte[valid.readableBytes()];
      valid.readBytes(prefix);
      valid.release();
      int kind = prefix.length == 0 ? r.nextInt(4) : r.nextInt(6);
      boolean certain = true;
      byte[] tail;
      switch (kind) {
        case 0: { // random bytes
          tail = new byte[1 + r.nextInt(2000)];
          r.nextBytes(tail);
          certain = false;
          break;
        }
        case 1: { // a huge length
          tail = new byte[4 + r.nextInt(100)];
          r.nextBytes(tail);
          long huge = WireFormat.FRAME_SIZE_BYTES_MAX + 1L + r.nextLong(0xFFFF_FFFFL
              - WireFormat.FRAME_SIZE_BYTES_MAX);
          tail[0] = (byte) (huge >>> 24);
          tail[1] = (byte) (huge >>> 16);
          tail[2] = (byte) (huge >>> 8);
          tail[3] = (byte) huge;
          break;
        }
        case 2: { // a bad CRC on an otherwise valid frame
          tail = RawFrames.streamOpen(1 + r.nextInt(1000), Messages.uuid(r));
          tail[tail.length - 1 - r.nextInt(4)] ^= (byte) (1 + r.nextInt(255));
          break;
        }
        case 3: { // junk compressed payload
          byte[] junk = new byte[1 + r.nextInt(3000)];
          r.nextBytes(junk);
          tail = RawFrames.concat(RawFrames.streamOpen(1000, Messages.uuid(r)),
              RawFrames.compressedBlock(1000, 1 + r.nextInt(WireFormat.BLOCK_SIZE_BYTES_MAX),
                  junk));
          break;
        }
        case 4: { // a valid stream with a flipped bit, or cut short
          tail = new byte[0];
          int at = r.nextInt(prefix.length);
          if (r.nextBoolean()) {
            prefix[at] ^= (byte) (1 << r.nextInt(8));
          } else {
            prefix = java.util.Arrays.copyOf(prefix, at);
          }
          certain = false;
          break;
        }
        default: { // the bomb
          tail = RawFrames.concat(RawFrames.streamOpen(1000, VM_ID),
              RawFrames.compressedBlock(1000, WireFormat.BLOCK_SIZE_BYTES_MAX, BOMB));
          certain = !hello; // after the hello, the bomb is a valid (if costly) block
          break;
        }
      }
      Recorder rec = new Recorder();
      Admission counted = Admission.unbounded();
      List<Frame> written = feedAndCheck(Unpooled.wrappedBuffer(RawFrames.concat(prefix, tail)),
          rec, certain, r, 5000, counted);
      // After the hello the bomb is one more message, a valid one.
      int extra = kind == 5 && hello ? 1 : 0;
      assertTrue(rec.messages.size() <= sent.size() + extra, "more messages than were sent");
      for (int k = 0; k < Math.min(sent.size(), rec.messages.size()); k++) {
        assertTrue(Messages.same(sent.get(k), rec.messages.get(k)), "message " + k);
      }
      if (!hello) {
        assertTrue(rec.messages.isEmpty(), "a message before the hello: " + rec.messages);
      }
      if (written.stream().anyMatch(x -> x instanceof Frame.Error
          && ((Frame.Error) x).code() == WireFormat.ERROR_PROTOCOL)) {
        assertEquals(1, counted.protocolErrors(), "case " + i + ": the protocol error counted");
      }
    }
  }

  @Test
  void aHelloThatClaimsNoHostNameIsAProtocolError() {
    for (String claim : new String[] {"primary.test\nINFO accepted connection", "a b",
        "x".repeat(256), "hv1.contoso.com\u202e"}) {
      Recorder rec = new Recorder();
      List<Frame> written = feedAndCheck(Unpooled.wrappedBuffer(RawFrames.hello(claim)), rec,
          true, new SplittableRandom(1));
      String reason = lastError(written);
      assertTrue(reason.contains("which is not a host name"), reason);
      assertFalse(reason.contains("\n") || reason.contains("\u202e"), reason);
      assertEquals(0, rec.closeCalls, "the engine never saw the connection");
    }
  }
}
