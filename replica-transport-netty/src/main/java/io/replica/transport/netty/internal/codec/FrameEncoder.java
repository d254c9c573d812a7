package io.replica.transport.netty.internal.codec;

import static io.replica.transport.netty.internal.codec.WireFormat.*;

import com.github.luben.zstd.Zstd;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToMessageEncoder;
import io.replica.api.VmId;
import io.replica.spi.transport.Message;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.BiConsumer;
import java.util.zip.CRC32C;
import org.jspecify.annotations.Nullable;

/**
 * Turns {@link Frame}s into wire frames (docs/protocol.md). Opens a stream for each virtual
 * machine the first time a message names it. A block travels as the caller's array (the SPI
 * forbids changing it after send), or as its zstd form when compression is on and the block
 * shrinks. Where the stage below needs native memory (the socket, BoringSSL), a frame that carries
 * a block is copied once into a direct buffer, which that stage would do anyway; elsewhere (the
 * JDK's TLS, which reads Java arrays) the frame wraps the array without copying it.
 *
 * <p>One instance per channel; runs on its event loop.
 */
public final class FrameEncoder extends MessageToMessageEncoder<Frame> {

  private final boolean directFrames;
  private final Map<VmId, Integer> streams = new HashMap<>();
  private int nextStream = 1;
  private volatile boolean compression;
  private volatile int compressionLevel = 1;
  private long rawBlocks;
  private long compressedBlocks;

  /** An encoder whose frames wrap block arrays without copying them. */
  public FrameEncoder() {
    this(false);
  }

  /**
   * An encoder.
   *
   * @param directFrames whether a frame that carries a block is built in one direct buffer: right
   *     when the stage below needs native memory, wrong when it reads Java arrays
   */
  public FrameEncoder(boolean directFrames) {
    super(Frame.class);
    this.directFrames = directFrames;
  }

  /**
   * Compresses a block payload as this encoder would, for a sender that does it on its own
   * thread before the frame reaches the event loop.
   */
  public static Frame.Packed pack(byte[] data, int level) {
    if (data.length <= 64) {
      return new Frame.Packed(null);
    }
    byte[] packed = Zstd.compress(data, level);
    return new Frame.Packed(packed.length < data.length ? packed : null);
  }

  /** Compresses block payloads from now on (after both hellos agreed to). */
  public void enableCompression(int level) {
    this.compressionLevel = level;
    this.compression = true;
  }

  /** How many blocks went raw and how many compressed (for tests and statistics). */
  public long[] blockCounts() {
    return new long[] {rawBlocks, compressedBlocks};
  }

  @Override
  protected void encode(ChannelHandlerContext ctx, Frame frame, List<Object> out) {
    out.add(encode(ctx.alloc(), frame, out));
  }

  /**
   * Encodes {@code frame}, adding any stream-open frame it needs to {@code before} first.
   *
   * @throws IllegalArgumentException if the frame cannot be encoded (too large, too many streams)
   */
  ByteBuf encode(ByteBufAllocator alloc, Frame frame, List<Object> before) {
    if (frame instanceof Frame.Data) {
      return encodeMessage(alloc, (Frame.Data) frame, before);
    }
    return encodeConnectionFrame(alloc, frame);
  }

  /** Hello, heartbeat, SASL and error frames: stream 0, no stream to open. */
  private ByteBuf encodeConnectionFrame(ByteBufAllocator alloc, Frame frame) {
    if (frame instanceof Frame.Hello) {
      Frame.Hello h = (Frame.Hello) frame;
      ByteBuf body = alloc.heapBuffer();
      body.writeInt(MAGIC).writeShort(h.versionMin()).writeShort(h.versionMax())
          .writeInt(h.features());
      writeString(body, h.hostName());
      h.clock().ifPresent(t -> body.writeLong(t.toEpochMilli()));
      return finish(alloc, TYPE_HELLO, 0, 0, body, null);
    }
    if (frame instanceof Frame.Heartbeat) {
      ByteBuf body = alloc.heapBuffer(8).writeLong(((Frame.Heartbeat) frame).sequence());
      return finish(alloc, TYPE_HEARTBEAT, 0, 0, body, null);
    }
    if (frame instanceof Frame.Sasl) {
      Frame.Sasl sasl = (Frame.Sasl) frame;
      ByteBuf body = alloc.heapBuffer(sasl.token().length).writeBytes(sasl.token());
      return finish(alloc, TYPE_SASL, sasl.done() ? FLAG_SASL_DONE : 0, 0, body, null);
    }
    if (frame instanceof Frame.Error) {
      Frame.Error e = (Frame.Error) frame;
      ByteBuf body = alloc.heapBuffer().writeShort(e.code());
      writeString(body, truncate(e.reason()));
      return finish(alloc, TYPE_ERROR, 0, 0, body, null);
    }
    throw new IllegalArgumentException("no frame type for " + frame);
  }

  /** An SPI message on the stream of its machine, opening the stream first if it is new. */
  private ByteBuf encodeMessage(ByteBufAllocator alloc, Frame.Data frame, List<Object> before) {
    Message m = frame.message();
    int stream = stream(alloc, m.vm(), before);
    ByteBuf body = alloc.heapBuffer();
    try {
      if (m instanceof Message.BlockData) {
        return blockData(alloc, stream, (Message.BlockData) m, frame.packed(), body);
      }
      Kind<?> kind = KINDS.get(m.getClass());
      if (kind == null) {
        throw new IllegalArgumentException("no frame type for message " + m);
      }
      kind.write(m, body);
      return finish(alloc, kind.type(), 0, stream, body, null);
    } catch (RuntimeException e) {
      if (body.refCnt() > 0) {
        body.release();
      }
      throw e;
    }
  }

  /**
   * A block: raw, or compressed when the sender packed it beforehand or this encoder compresses
   * and it shrinks. The payload travels as its own array after the body.
   */
  private ByteBuf blockData(ByteBufAllocator alloc, int stream, Message.BlockData b,
      Frame.@Nullable Packed pre, ByteBuf body) {
    byte[] data = b.data();
    if (data.length > BLOCK_SIZE_BYTES_MAX) {
      throw new IllegalArgumentException("cannot send " + b + ": the block is larger than the"
          + " protocol's maximum of " + BLOCK_SIZE_BYTES_MAX + " bytes (send smaller blocks)");
    }
    body.writeLong(b.cycle()).writeLong(b.sequence());
    writeUuid(body, b.disk().uuid());
    body.writeLong(b.offsetBytes());
    byte[] packed = null;
    if (pre != null) {
      packed = pre.zstd();
    } else if (compression && data.length > 64) {
      byte[] attempt = Zstd.compress(data, compressionLevel);
      packed = attempt.length < data.length ? attempt : null;
    }
    if (packed == null) {
      rawBlocks++;
      return finish(alloc, TYPE_BLOCK_DATA, 0, stream, body, data);
    }
    compressedBlocks++;
    body.writeInt(data.length);
    return finish(alloc, TYPE_BLOCK_DATA, FLAG_COMPRESSED, stream, body, packed);
  }

  /** How the body of a message kind other than a block is written, and its frame type. */
  private record Kind<M extends Message>(Class<M> kind, int type, BiConsumer<M, ByteBuf> body) {
    void write(Message m, ByteBuf out) {
      body.accept(kind.cast(m), out);
    }
  }

  /** Every message kind but {@link Message.BlockData}, by class. */
  private static final Map<Class<?>, Kind<?>> KINDS = kinds(
      new Kind<>(Message.EnableRequest.class, TYPE_ENABLE_REQUEST,
          FrameEncoder::writeEnableRequest),
      new Kind<>(Message.EnableResponse.class, TYPE_ENABLE_RESPONSE, (r, out) -> {
        out.writeByte(r.status() == null ? 0xFF : r.status().ordinal());
        writeNullableString(out, r.reason());
        out.writeLong(r.lastCommittedCycle());
      }),
      new Kind<>(Message.CycleBegin.class, TYPE_CYCLE_BEGIN, FrameEncoder::writeCycleBegin),
      new Kind<>(Message.ZeroRun.class, TYPE_ZERO_RUN, (z, out) -> {
        out.writeLong(z.cycle()).writeLong(z.sequence());
        writeUuid(out, z.disk().uuid());
        out.writeLong(z.offsetBytes()).writeLong(z.lengthBytes());
      }),
      new Kind<>(Message.CycleEnd.class, TYPE_CYCLE_END, (e, out) -> out.writeLong(e.cycle())
          .writeLong(e.messageCount()).writeLong(e.payloadBytes()).writeInt(e.contentCrc32c())),
      new Kind<>(Message.CycleAck.class, TYPE_CYCLE_ACK, (a, out) -> out.writeLong(a.cycle())),
      new Kind<>(Message.CycleRejected.class, TYPE_CYCLE_REJECTED, (r, out) -> {
        out.writeLong(r.cycle());
        writeNullableString(out, r.reason());
        out.writeBoolean(r.resynchronizationRequired());
      }),
      new Kind<>(Message.FailoverPrepared.class, TYPE_FAILOVER_PREPARED, (f, out) -> {
        out.writeLong(f.cycle());
        writeNullableString(out, f.reverseHost());
        out.writeInt(f.reversePort()).writeByte(f.authentication().ordinal())
            .writeLong(f.replicationFrequency().toMillis());
      }),
      new Kind<>(Message.FailoverCompleted.class, TYPE_FAILOVER_COMPLETED, (f, out) -> {
        out.writeBoolean(f.succeeded());
        writeNullableString(out, f.reason());
      }),
      new Kind<>(Message.HashRequest.class, TYPE_HASH_REQUEST, (h, out) -> {
        out.writeLong(h.cycle());
        writeUuid(out, h.disk().uuid());
        out.writeLong(h.offsetBytes()).writeLong(h.lengthBytes()).writeInt(h.blockSizeBytes());
      }),
      new Kind<>(Message.HashResponse.class, TYPE_HASH_RESPONSE,
          FrameEncoder::writeHashResponse),
      new Kind<>(Message.VerifyRequest.class, TYPE_VERIFY_REQUEST, (v, out) -> {
        out.writeLong(v.request());
        writeUuid(out, v.disk().uuid());
        out.writeLong(v.offsetBytes()).writeLong(v.lengthBytes()).writeInt(v.blockSizeBytes());
      }),
      new Kind<>(Message.VerifyResponse.class, TYPE_VERIFY_RESPONSE,
          FrameEncoder::writeVerifyResponse),
      new Kind<>(Message.ChangedRanges.class, TYPE_CHANGED_RANGES, (r, out) -> {
        writeUuid(out, r.disk().uuid());
        out.writeInt(r.ranges().length / 2);
        for (long v : r.ranges()) {
          out.writeLong(v);
        }
      }),
      new Kind<>(Message.PowerStateQuery.class, TYPE_POWER_STATE_QUERY, (q, out) -> {}),
      new Kind<>(Message.PowerStateReport.class, TYPE_POWER_STATE_REPORT, (r, out) ->
          out.writeByte(r.powerState() == null ? 0xFF : r.powerState().ordinal())));

  private static Map<Class<?>, Kind<?>> kinds(Kind<?>... kinds) {
    Map<Class<?>, Kind<?>> byClass = new HashMap<>();
    for (Kind<?> k : kinds) {
      if (byClass.put(k.kind(), k) != null) {
        throw new IllegalStateException("message kind " + k.kind() + " listed twice");
      }
    }
    return Map.copyOf(byClass);
  }

  private static void writeEnableRequest(Message.EnableRequest r, ByteBuf body) {
    writeNullableString(body, r.vmName());
    writeNullableString(body, r.primaryHost());
    if (r.disks().size() > DISKS_MAX) {
      throw new IllegalArgumentException("cannot send " + r + ": " + r.disks().size()
          + " disks, the protocol carries at most " + DISKS_MAX);
    }
    body.writeShort(r.disks().size());
    for (Message.DiskDescriptor d : r.disks()) {
      writeUuid(body, d.disk().uuid());
      body.writeLong(d.sizeBytes()).writeInt(d.logicalSectorSizeBytes());
    }
    body.writeInt(r.trackingBlockSizeBytes());
    body.writeInt(r.additionalRecoveryPoints());
    body.writeLong(r.reverseOfCycle());
    body.writeBoolean(r.existingCopy());
  }

  private static void writeCycleBegin(Message.CycleBegin b, ByteBuf body) {
    body.writeLong(b.cycle()).writeLong(b.baseCycle());
    if (b.cutTime() == null) {
      body.writeByte(0);
    } else {
      body.writeByte(1).writeLong(b.cutTime().getEpochSecond()).writeInt(b.cutTime().getNano());
    }
    body.writeByte(b.recoveryPoint() == null ? 0xFF : b.recoveryPoint().ordinal());
    body.writeBoolean(b.resynchronization());
  }

  private static void writeHashResponse(Message.HashResponse h, ByteBuf body) {
    if (h.hashes().length > BLOCK_SIZE_BYTES_MAX) {
      throw new IllegalArgumentException("cannot send " + h + ": more hashes than a frame carries");
    }
    body.writeLong(h.cycle());
    writeUuid(body, h.disk().uuid());
    body.writeLong(h.offsetBytes()).writeInt(h.blockSizeBytes()).writeInt(h.hashes().length)
        .writeBytes(h.hashes());
  }

  private static void writeVerifyResponse(Message.VerifyResponse v, ByteBuf body) {
    if (v.hashes().length > BLOCK_SIZE_BYTES_MAX) {
      throw new IllegalArgumentException("cannot send " + v + ": more hashes than a frame carries");
    }
    body.writeLong(v.request());
    writeUuid(body, v.disk().uuid());
    body.writeLong(v.offsetBytes()).writeInt(v.blockSizeBytes()).writeLong(v.appliedCycle());
    writeString(body, truncate(v.refusal()));
    body.writeInt(v.hashes().length).writeBytes(v.hashes());
  }

  private int stream(ByteBufAllocator alloc, VmId vm, List<Object> before) {
    Integer known = streams.get(vm);
    if (known != null) {
      return known;
    }
    if (streams.size() >= STREAMS_MAX) {
      throw new IllegalArgumentException("cannot open a stream for virtual machine " + vm
          + ": this connection already carries " + STREAMS_MAX + " machines (use another"
          + " connection)");
    }
    int id = nextStream++;
    streams.put(vm, id);
    ByteBuf body = alloc.heapBuffer(16);
    writeUuid(body, vm.uuid());
    before.add(finish(alloc, TYPE_STREAM_OPEN, 0, id, body, null));
    return id;
  }

  /**
   * Puts header, body, optional payload and CRC together; takes ownership of {@code body}.
   */
  private ByteBuf finish(
      ByteBufAllocator alloc, int type, int flags, int stream, ByteBuf body,
      byte @Nullable [] payload) {
    int payloadLength = payload == null ? 0 : payload.length;
    long length = (HEADER_BYTES - 4L) + body.readableBytes() + payloadLength + TRAILER_BYTES;
    if (length > FRAME_SIZE_BYTES_MAX) {
      body.release();
      throw new IllegalArgumentException("frame of type " + type + " would be " + length
          + " bytes, over the protocol's maximum of " + FRAME_SIZE_BYTES_MAX);
    }
    if (directFrames && payload != null) {
      return finishDirect(alloc, (int) length, type, flags, stream, body, payload);
    }
    ByteBuf head = alloc.heapBuffer(HEADER_BYTES + body.readableBytes());
    head.writeInt((int) length).writeByte(type).writeByte(flags).writeInt(stream);
    head.writeBytes(body);
    body.release();
    CRC32C crc = new CRC32C();
    crc.update(head.array(), head.arrayOffset() + head.readerIndex(), head.readableBytes());
    if (payload == null) {
      head.writeInt((int) crc.getValue());
      return head;
    }
    crc.update(payload, 0, payload.length);
    ByteBuf trailer = Unpooled.buffer(4).writeInt((int) crc.getValue());
    return Unpooled.wrappedBuffer(head, Unpooled.wrappedBuffer(payload), trailer);
  }

  /** {@link #finish} into one direct buffer; takes ownership of {@code body}. */
  private static ByteBuf finishDirect(
      ByteBufAllocator alloc, int length, int type, int flags, int stream, ByteBuf body,
      byte[] payload) {
    ByteBuf frame = alloc.directBuffer(4 + length);
    try {
      frame.writeInt(length).writeByte(type).writeByte(flags).writeInt(stream);
      frame.writeBytes(body).writeBytes(payload);
      // After the copy, so that the CRC reads the payload from the cache, not from main memory a
      // second time.
      CRC32C crc = new CRC32C();
      crc.update(frame.nioBuffer(frame.readerIndex(), frame.readableBytes()));
      return frame.writeInt((int) crc.getValue());
    } catch (RuntimeException e) {
      frame.release();
      throw e;
    } finally {
      body.release();
    }
  }

  private static String truncate(String s) {
    return s.length() > 1000 ? s.substring(0, 1000) + "..." : s;
  }

  static void writeUuid(ByteBuf out, UUID uuid) {
    out.writeLong(uuid.getMostSignificantBits()).writeLong(uuid.getLeastSignificantBits());
  }

  static void writeString(ByteBuf out, String s) {
    byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
    if (bytes.length > STRING_BYTES_MAX) {
      throw new IllegalArgumentException("string field of " + bytes.length + " bytes is over the"
          + " protocol's maximum of " + STRING_BYTES_MAX + ": '" + s.substring(0, 40) + "...'");
    }
    out.writeShort(bytes.length).writeBytes(bytes);
  }

  static void writeNullableString(ByteBuf out, @Nullable String s) {
    if (s == null) {
      out.writeShort(0xFFFF);
    } else {
      writeString(out, s);
    }
  }

}
