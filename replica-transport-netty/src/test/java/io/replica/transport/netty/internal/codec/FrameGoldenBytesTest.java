package io.replica.transport.netty.internal.codec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.replica.api.AuthenticationType;
import io.replica.api.DiskId;
import io.replica.api.RecoveryPointType;
import io.replica.api.VmId;
import io.replica.spi.host.PowerState;
import io.replica.spi.transport.Message;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The wire format byte for byte: one frame of every kind, sent in order on one connection, is
 * compared with the bytes recorded in {@code golden-frames.txt}, and those bytes decode back to
 * the same frames. A difference is a change of the protocol (docs/protocol.md and a new version),
 * never a refactoring of the codec.
 */
class FrameGoldenBytesTest {
  static final VmId VM_A = new VmId(new UUID(0x0102030405060708L, 0x1112131415161718L));
  static final VmId VM_B = new VmId(new UUID(0x2122232425262728L, 0x3132333435363738L));
  static final DiskId DISK_1 = new DiskId(new UUID(0x4142434445464748L, 0x5152535455565758L));
  static final DiskId DISK_2 = new DiskId(new UUID(0x6162636465666768L, 0x7172737475767778L));

  /** 200 bytes of "replica " over and over. */
  static final byte[] TEXT_BLOCK = textBlock();

  /**
   * {@link #TEXT_BLOCK} as zstd level 1 made it when the bytes were recorded, fixed here so that
   * the recording does not depend on the zstd version.
   */
  static final byte[] TEXT_BLOCK_ZSTD =
      ByteBufUtil.decodeHexDump("28b52ffd20c87d0000407265706c696361200100bd51850b");

  private static byte[] textBlock() {
    byte[] b = new byte[200];
    for (int i = 0; i < b.length; i++) {
      b[i] = (byte) "replica ".charAt(i % 8);
    }
    return b;
  }

  private static byte[] bytes(int n, int first) {
    byte[] b = new byte[n];
    for (int i = 0; i < n; i++) {
      b[i] = (byte) (first + i);
    }
    return b;
  }

  /** The frames in the order they are sent, each under its name in the recording. */
  static Map<String, Frame> frames() {
    Map<String, Frame> f = new LinkedHashMap<>();
    f.put("hello", new Frame.Hello(1, 1, WireFormat.FEATURE_ZSTD, "hv1.contoso.com"));
    f.put("hello-asking-clock", new Frame.Hello(1, 2, WireFormat.FEATURE_ZSTD
        | WireFormat.FEATURE_CLOCK, "hv1.contoso.com"));
    f.put("hello-with-clock", new Frame.Hello(1, 1, WireFormat.FEATURE_CLOCK, "replica-ü.test",
        Optional.of(Instant.ofEpochMilli(1_796_000_000_123L))));
    f.put("sasl", new Frame.Sasl(false, bytes(5, 0xA0)));
    f.put("sasl-done", new Frame.Sasl(true, new byte[0]));
    f.put("heartbeat", new Frame.Heartbeat(0x0A0B0C0D0E0F1011L));
    f.put("enable-request", data(new Message.EnableRequest(VM_A, "vm-één", "hv1.contoso.com",
        List.of(new Message.DiskDescriptor(DISK_1, 64L << 30, 512),
            new Message.DiskDescriptor(DISK_2, 1L << 40, 4096)),
        2 * 1024 * 1024, 24, -1, false)));
    f.put("enable-request-nulls", data(new Message.EnableRequest(VM_B, null, null, List.of(),
        4096, 0, 0x0102030405060708L, true)));
    f.put("enable-response", data(new Message.EnableResponse(VM_A,
        Message.EnableStatus.NOT_AUTHORIZED, "not in the list", 41)));
    f.put("enable-response-nulls", data(new Message.EnableResponse(VM_A, null, null, -1)));
    f.put("cycle-begin", data(new Message.CycleBegin(VM_A, 7, 6,
        Instant.ofEpochSecond(1_796_000_000L, 123_456_789), RecoveryPointType.APPLICATION_CONSISTENT,
        true)));
    f.put("cycle-begin-nulls", data(new Message.CycleBegin(VM_A, 8, 0, null, null, false)));
    f.put("block-data", data(new Message.BlockData(VM_A, 7, 1, DISK_1, 0x10000, bytes(16, 1))));
    f.put("block-data-packed", new Frame.Data(new Message.BlockData(VM_A, 7, 2, DISK_1, 0x20000,
        TEXT_BLOCK), new Frame.Packed(TEXT_BLOCK_ZSTD)));
    f.put("block-data-packed-raw", new Frame.Data(new Message.BlockData(VM_A, 7, 3, DISK_2, 0,
        bytes(3, 7)), new Frame.Packed(null)));
    f.put("block-data-empty", data(new Message.BlockData(VM_A, 7, 4, DISK_2, 512, new byte[0])));
    f.put("zero-run", data(new Message.ZeroRun(VM_A, 7, 5, DISK_2, 1L << 20, 1L << 21)));
    f.put("cycle-end", data(new Message.CycleEnd(VM_A, 7, 5, 219, 0xCAFEBABE)));
    f.put("cycle-ack", data(new Message.CycleAck(VM_A, 7)));
    f.put("cycle-rejected", data(new Message.CycleRejected(VM_A, 8, "disk full", true)));
    f.put("cycle-rejected-null", data(new Message.CycleRejected(VM_A, 9, null, false)));
    f.put("failover-prepared", data(new Message.FailoverPrepared(VM_A, 9, "hv2.fabrikam.com",
        443, AuthenticationType.KERBEROS, Duration.ofSeconds(30))));
    f.put("failover-completed", data(new Message.FailoverCompleted(VM_A, true, null)));
    f.put("failover-completed-reason", data(new Message.FailoverCompleted(VM_B, false,
        "machine still running")));
    f.put("hash-request", data(new Message.HashRequest(VM_A, 10, DISK_1, 4096, 1L << 30,
        65536)));
    f.put("hash-response", data(new Message.HashResponse(VM_A, 10, DISK_1, 4096, 65536,
        bytes(32, 0x40))));
    f.put("verify-request", data(new Message.VerifyRequest(VM_B, 3, DISK_2, 0, 1L << 22, 4096)));
    f.put("verify-response", data(new Message.VerifyResponse(VM_B, 3, DISK_2, 0, 4096, 12,
        bytes(16, 0x80), "")));
    f.put("verify-response-refused", data(new Message.VerifyResponse(VM_B, 4, DISK_2, 0, 4096,
        -1, new byte[0], "not a replica of this machine")));
    f.put("changed-ranges", data(new Message.ChangedRanges(VM_A, DISK_1,
        new long[] {0, 4096, 1L << 33, 1L << 20})));
    f.put("power-state-query", data(new Message.PowerStateQuery(VM_A)));
    f.put("power-state-report", data(new Message.PowerStateReport(VM_A, PowerState.PAUSED)));
    f.put("power-state-report-null", data(new Message.PowerStateReport(VM_B, null)));
    f.put("error", new Frame.Error(WireFormat.ERROR_AUTHENTICATION, "certificate expired"));
    return f;
  }

  private static Frame data(Message m) {
    return new Frame.Data(m);
  }

  /** The recording: frame name to the hex of every byte the encoder wrote for it. */
  static Map<String, String> recorded() throws IOException {
    Map<String, String> golden = new LinkedHashMap<>();
    try (InputStream in = FrameGoldenBytesTest.class.getResourceAsStream("golden-frames.txt")) {
      assertNotNull(in, "golden-frames.txt is on the test class path");
      BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII));
      String line;
      while ((line = r.readLine()) != null) {
        if (line.isBlank() || line.startsWith("#")) {
          continue;
        }
        String[] parts = line.trim().split("\\s+");
        assertEquals(2, parts.length, "a recording line is a name and hex: " + line);
        golden.put(parts[0], parts[1]);
      }
    }
    return golden;
  }

  /** What one encoder writes for each frame, in order (stream-open frames included). */
  static Map<String, String> encoded(boolean directFrames) {
    EmbeddedChannel out = new EmbeddedChannel(new FrameEncoder(directFrames));
    Map<String, String> written = new LinkedHashMap<>();
    try {
      for (Map.Entry<String, Frame> e : frames().entrySet()) {
        out.writeOutbound(e.getValue());
        StringBuilder hex = new StringBuilder();
        ByteBuf part;
        while ((part = out.readOutbound()) != null) {
          hex.append(ByteBufUtil.hexDump(part));
          part.release();
        }
        written.put(e.getKey(), hex.toString());
      }
    } finally {
      out.finishAndReleaseAll();
    }
    return written;
  }

  @ParameterizedTest(name = "directFrames={0}")
  @ValueSource(booleans = {false, true})
  void everyFrameIsWrittenAsRecorded(boolean directFrames) throws IOException {
    Map<String, String> golden = recorded();
    Map<String, String> written = encoded(directFrames);
    assertEquals(golden.keySet(), written.keySet(), "the recording names every frame, in order");
    for (String name : golden.keySet()) {
      assertEquals(golden.get(name), written.get(name), "bytes of frame '" + name + "'");
    }
  }

  @ParameterizedTest(name = "chunk={0}")
  @ValueSource(ints = {1, 7, 1 << 20})
  void theRecordedBytesReadBackAsTheFrames(int chunk) throws IOException {
    StringBuilder all = new StringBuilder();
    recorded().values().forEach(all::append);
    ByteBuf bytes = Unpooled.wrappedBuffer(ByteBufUtil.decodeHexDump(all));
    EmbeddedChannel in = new EmbeddedChannel(FrameDecoder.opened());
    List<Frame> got = new ArrayList<>();
    try {
      while (bytes.isReadable()) {
        in.writeInbound(bytes.readRetainedSlice(Math.min(chunk, bytes.readableBytes())));
      }
      Object o;
      while ((o = in.readInbound()) != null) {
        got.add((Frame) o);
      }
    } finally {
      bytes.release();
      in.finishAndReleaseAll();
    }
    List<Map.Entry<String, Frame>> sent = new ArrayList<>(frames().entrySet());
    assertEquals(sent.size(), got.size(), "frames read back");
    for (int i = 0; i < sent.size(); i++) {
      String name = sent.get(i).getKey();
      Frame a = sent.get(i).getValue();
      Frame b = got.get(i);
      if (a instanceof Frame.Data) {
        assertTrue(b instanceof Frame.Data, name + " reads back as a message: " + b);
        assertTrue(Messages.same(((Frame.Data) a).message(), ((Frame.Data) b).message()),
            name + ": sent " + a + ", read " + b);
      } else {
        assertEquals(a, b, name);
      }
    }
  }

  /** A new frame or message kind cannot be added without recording its bytes. */
  @Test
  void everyKindIsRecorded() throws IOException {
    Set<Class<?>> kinds = new HashSet<>();
    for (Frame f : frames().values()) {
      kinds.add(f.getClass());
      if (f instanceof Frame.Data) {
        kinds.add(((Frame.Data) f).message().getClass());
      }
    }
    for (Class<?> c : Frame.class.getPermittedSubclasses()) {
      assertTrue(kinds.contains(c), "no recorded frame of kind " + c.getSimpleName());
    }
    for (Class<?> c : Message.class.getPermittedSubclasses()) {
      assertTrue(kinds.contains(c), "no recorded message of kind " + c.getSimpleName());
    }
    String all = String.join("", recorded().values());
    // The stream-open frames of both machines (type 0x04 on streams 1 and 2).
    assertTrue(all.contains("0000001a04000000000101020304050607081112131415161718"), all);
    assertTrue(all.contains("0000001a04000000000221222324252627283132333435363738"), all);
  }
}
