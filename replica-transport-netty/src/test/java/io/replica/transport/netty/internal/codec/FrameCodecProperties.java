package io.replica.transport.netty.internal.codec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.booleans;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.longs;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.replica.api.VmId;
import io.replica.spi.transport.Message;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Whatever the encoder writes, the decoder reads back as the same frames, however it is cut. */
class FrameCodecProperties {

  /** Encodes frames on one channel and returns the bytes as one buffer (caller releases). */
  static ByteBuf encode(List<Frame> frames, boolean compress) {
    return encode(frames, compress, false);
  }

  /** {@link #encode(List, boolean)}, with frames built in direct buffers or not. */
  static ByteBuf encode(List<Frame> frames, boolean compress, boolean directFrames) {
    EmbeddedChannel out = new EmbeddedChannel(new FrameEncoder(directFrames));
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
    return all;
  }

  /** Feeds {@code bytes} in chunks of the given sizes and returns what the decoder produced. */
  static List<Frame> decode(ByteBuf bytes, SplittableRandom cuts) {
    EmbeddedChannel in = new EmbeddedChannel(FrameDecoder.opened());
    try {
      while (bytes.isReadable()) {
        int n = Math.min(bytes.readableBytes(), 1 + cuts.nextInt(cuts.nextBoolean() ? 7 : 70_000));
        in.writeInbound(bytes.readRetainedSlice(n));
      }
      List<Frame> got = new ArrayList<>();
      Object o;
      while ((o = in.readInbound()) != null) {
        got.add((Frame) o);
      }
      return got;
    } finally {
      bytes.release();
      in.finishAndReleaseAll();
    }
  }

  /** Random frames as a connection sends them, starting with its hello. */
  private static List<Frame> randomFrames(SplittableRandom r, int count) {
    List<VmId> vms = Messages.vms(r);
    List<Frame> sent = new ArrayList<>();
    sent.add(new Frame.Hello(1, 1, WireFormat.FEATURE_ZSTD, "hv1.contoso.com"));
    sent.add(new Frame.Hello(1, 1, WireFormat.FEATURE_CLOCK, "hv1.contoso.com")); // "tell me your clock"
    sent.add(new Frame.Hello(1, 1, WireFormat.FEATURE_ZSTD | WireFormat.FEATURE_CLOCK, "hv2.fabrikam.com",
        java.util.Optional.of(java.time.Instant.ofEpochMilli(1_796_000_000_123L)))); // the answer
    for (int i = 0; i < count; i++) {
      Message m = Messages.random(r, vms);
      if (r.nextInt(10) == 0) {
        sent.add(new Frame.Heartbeat(r.nextLong()));
      } else if (m instanceof Message.BlockData && r.nextBoolean()) {
        // Compressed on the sender's thread, as a compressing connection does.
        sent.add(new Frame.Data(m, FrameEncoder.pack(((Message.BlockData) m).data(), 1)));
      } else {
        sent.add(new Frame.Data(m));
      }
    }
    return sent;
  }

  @Test
  void messagesRoundTripInAnyChunking() {
    qt().withExamples(300)
        .forAll(longs().all(), booleans().all(), integers().between(1, 30), booleans().all())
        .checkAssert((seed, compress, count, direct) -> {
          SplittableRandom r = new SplittableRandom(seed);
          List<Frame> sent = randomFrames(r, count);
          List<Frame> got = decode(encode(sent, compress, direct), r.split());
          assertEquals(sent.size(), got.size(), "frames decoded");
          for (int i = 0; i < sent.size(); i++) {
            Frame a = sent.get(i);
            Frame b = got.get(i);
            if (a instanceof Frame.Data) {
              assertTrue(b instanceof Frame.Data, "frame " + i + " is a message");
              assertTrue(Messages.same(((Frame.Data) a).message(), ((Frame.Data) b).message()),
                  "frame " + i + ": sent " + a + ", got " + b);
            } else {
              assertEquals(a, b);
            }
          }
        });
  }

  @Test
  void framesInDirectBuffersAreTheSameBytes() {
    qt().withExamples(100)
        .forAll(longs().all(), booleans().all(), integers().between(1, 30))
        .checkAssert((seed, compress, count) -> {
          List<Frame> sent = randomFrames(new SplittableRandom(seed), count);
          ByteBuf wrapped = encode(sent, compress, false);
          ByteBuf direct = encode(sent, compress, true);
          try {
            assertEquals(wrapped, direct);
          } finally {
            wrapped.release();
            direct.release();
          }
        });
  }

  @Test
  void compressibleBlocksShrinkAndIncompressibleOnesTravelRaw() {
    VmId vm = new VmId(new java.util.UUID(1, 2));
    byte[] zeros = new byte[65536];
    byte[] noise = new byte[65536];
    new SplittableRandom(7).nextBytes(noise);
    List<Frame> frames = List.of(
        new Frame.Data(new Message.BlockData(vm, 1, 1, new io.replica.api.DiskId(
            new java.util.UUID(3, 4)), 0, zeros)),
        new Frame.Data(new Message.BlockData(vm, 1, 2, new io.replica.api.DiskId(
            new java.util.UUID(3, 4)), 65536, noise)));
    EmbeddedChannel out = new EmbeddedChannel(new FrameEncoder());
    FrameEncoder encoder = out.pipeline().get(FrameEncoder.class);
    encoder.enableCompression(1);
    for (Frame f : frames) {
      out.writeOutbound(f);
    }
    long total = 0;
    ByteBuf part;
    while ((part = out.readOutbound()) != null) {
      total += part.readableBytes();
      part.release();
    }
    out.finishAndReleaseAll();
    assertEquals(1, encoder.blockCounts()[0], "raw blocks");
    assertEquals(1, encoder.blockCounts()[1], "compressed blocks");
    assertTrue(total < 65536 + 2000, "the zero block shrank: " + total + " bytes in all");
    List<Frame> got = decode(encode(frames, true), new SplittableRandom(1));
    assertTrue(Messages.same(((Frame.Data) frames.get(0)).message(),
        ((Frame.Data) got.get(0)).message()));
    assertTrue(Messages.same(((Frame.Data) frames.get(1)).message(),
        ((Frame.Data) got.get(1)).message()));
  }
}
