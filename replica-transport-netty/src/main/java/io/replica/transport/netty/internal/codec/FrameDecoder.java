package io.replica.transport.netty.internal.codec;

import static io.replica.transport.netty.internal.codec.WireFormat.*;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdException;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.replica.api.DiskId;
import io.replica.api.VmId;
import io.replica.spi.transport.Message;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.DateTimeException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.zip.CRC32C;
import org.jspecify.annotations.Nullable;

/**
 * Reads wire frames (docs/protocol.md) into {@link Frame}s. The length prefix is checked against
 * the maximum before anything waits for or allocates the frame, and the CRC-32C before the body is
 * parsed. Every frame is copied into Java objects here, so no buffer leaves the decoder.
 *
 * <p>A decoder starts in the handshake: until {@link #open()} (the hello exchange admitted the
 * peer), it takes only hello, SASL and error frames of at most {@link
 * WireFormat#HANDSHAKE_LENGTH_MAX} bytes, so a peer that proved nothing can make this side
 * buffer one small frame and decompress nothing. After it, frames up to {@link
 * WireFormat#FRAME_SIZE_BYTES_MAX}.
 *
 * <p>The first violation throws {@link ProtocolViolation} (wrapped by Netty in a
 * DecoderException) and the decoder drops everything after it, as after {@link #stop()}: the
 * connection must close.
 */
public final class FrameDecoder extends ByteToMessageDecoder {

  private final Map<Integer, VmId> streams = new HashMap<>();
  private boolean open;
  private boolean failed;

  /** A decoder in the handshake, for a connection whose peer has proved nothing yet. */
  public FrameDecoder() {
    // Copies what arrives into one buffer of what the frame needs: in the handshake a frame is
    // small, and a read buffer kept as it came would hold its whole capacity for a few bytes.
    setCumulator(MERGE_CUMULATOR);
  }

  /** A decoder past the handshake, for tests and tools that read a recorded stream. */
  public static FrameDecoder opened() {
    FrameDecoder d = new FrameDecoder();
    d.open();
    return d;
  }

  /**
   * The hello exchange admitted the peer: frames of full size and messages from now on. Called
   * on the event loop by the frame that completed the exchange, so the next frame is read with
   * the new rules.
   */
  public void open() {
    open = true;
    // Large frames arrive in many reads (or TLS records): keep them as components instead of
    // copying each into a growing buffer; the body is copied once, into the message's array.
    setCumulator(COMPOSITE_CUMULATOR);
  }

  /** Whether {@link #open()} was called. */
  public boolean isOpen() {
    return open;
  }

  /**
   * Decodes nothing more: the connection was refused or failed, and whatever the peer still sends
   * is dropped unread, so it costs no allocation and no decompression.
   */
  public void stop() {
    failed = true;
    ByteBuf held = internalBuffer();
    if (held.isReadable()) {
      held.skipBytes(held.readableBytes());
    }
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    if (failed) {
      in.skipBytes(in.readableBytes());
      return;
    }
    try {
      decodeOne(in, out);
    } catch (ProtocolViolation e) {
      failed = true;
      in.skipBytes(in.readableBytes());
      throw e;
    } catch (RuntimeException e) {
      // Whatever else the peer's bytes provoke is still their malformed input.
      failed = true;
      in.skipBytes(in.readableBytes());
      throw new ProtocolViolation(ERROR_PROTOCOL, "a frame could not be decoded ("
          + e.getClass().getSimpleName() + ")", e);
    }
  }

  private void decodeOne(ByteBuf in, List<Object> out) {
    if (in.readableBytes() < 4) {
      return;
    }
    int start = in.readerIndex();
    long length = in.getUnsignedInt(start);
    if (!open && length > HANDSHAKE_LENGTH_MAX && length <= FRAME_SIZE_BYTES_MAX) {
      throw new ProtocolViolation("frame length " + length + " is over the handshake's maximum"
          + " of " + HANDSHAKE_LENGTH_MAX + " bytes; before its hello is admitted a peer sends"
          + " only hello, SASL and error frames");
    }
    if (length < LENGTH_MIN || length > FRAME_SIZE_BYTES_MAX) {
      throw new ProtocolViolation("frame length " + length + " is outside " + LENGTH_MIN + ".."
          + FRAME_SIZE_BYTES_MAX + " bytes; the peer does not speak this protocol or its data"
          + " was corrupted");
    }
    if (in.readableBytes() < 4 + length) {
      return;
    }
    int end = start + 4 + (int) length;
    CRC32C crc = new CRC32C();
    for (java.nio.ByteBuffer part : in.nioBuffers(start, end - start - TRAILER_BYTES)) {
      crc.update(part);
    }
    int expected = in.getInt(end - TRAILER_BYTES);
    if ((int) crc.getValue() != expected) {
      throw new ProtocolViolation(String.format("CRC-32C mismatch in a frame of %d bytes"
          + " (computed %08x, frame says %08x); the data was corrupted on the way", length,
          (int) crc.getValue(), expected));
    }
    int type = in.getUnsignedByte(start + 4);
    int flags = in.getUnsignedByte(start + 5);
    int stream = in.getInt(start + 6);
    if (!open && type != TYPE_HELLO && type != TYPE_SASL && type != TYPE_ERROR) {
      throw new ProtocolViolation("a frame of type 0x" + Integer.toHexString(type) + " arrived"
          + " before the hello exchange completed; the first frame must be a hello (or SASL"
          + " during Kerberos authentication)");
    }
    ByteBuf body = in.slice(start + HEADER_BYTES, end - TRAILER_BYTES - start - HEADER_BYTES);
    in.readerIndex(end);
    Frame frame;
    try {
      frame = parse(type, flags, stream, body);
    } catch (IndexOutOfBoundsException e) {
      throw new ProtocolViolation(ERROR_PROTOCOL,
          "frame of type 0x" + Integer.toHexString(type) + " is shorter than its fields", e);
    } catch (IllegalArgumentException | NullPointerException | DateTimeException e) {
      throw new ProtocolViolation(ERROR_PROTOCOL, "frame of type 0x" + Integer.toHexString(type)
          + " carries invalid values: " + e.getMessage(), e);
    }
    if (body.isReadable()) {
      throw new ProtocolViolation("frame of type 0x" + Integer.toHexString(type) + " has "
          + body.readableBytes() + " bytes after its last field");
    }
    if (frame != null) {
      out.add(frame);
    }
  }

  private @Nullable Frame parse(int type, int flags, int stream, ByteBuf body) {
    if (type < TYPE_ENABLE_REQUEST) {
      return parseConnectionFrame(type, flags, stream, body);
    }
    VmId vm = streams.get(stream);
    if (vm == null) {
      throw new ProtocolViolation("frame of type 0x" + Integer.toHexString(type) + " on stream "
          + stream + ", which the peer never opened (frames out of order)");
    }
    if (flags != 0 && !(type == TYPE_BLOCK_DATA && flags == FLAG_COMPRESSED)) {
      throw new ProtocolViolation("frame of type 0x" + Integer.toHexString(type)
          + " has unknown flags " + flags);
    }
    return new Frame.Data(parseMessage(type, flags, vm, body));
  }

  /** Frames of the connection itself (types below 0x10): handshake, liveness, streams. */
  private @Nullable Frame parseConnectionFrame(int type, int flags, int stream, ByteBuf body) {
    if (type == TYPE_STREAM_OPEN) {
      openStream(stream, flags, body);
      return null;
    }
    if (type == TYPE_SASL && stream == 0 && (flags & ~FLAG_SASL_DONE) == 0) {
      return sasl(flags, body);
    }
    if (stream != 0 || flags != 0) {
      throw new ProtocolViolation("connection frame of type 0x" + Integer.toHexString(type)
          + " has stream " + stream + " and flags " + flags + "; it must have 0 and 0");
    }
    switch (type) {
      case TYPE_HELLO:
        return hello(body);
      case TYPE_HEARTBEAT:
        return new Frame.Heartbeat(body.readLong());
      case TYPE_ERROR:
        return new Frame.Error(body.readUnsignedShort(), readString(body));
      default:
        throw new ProtocolViolation("unknown frame type 0x" + Integer.toHexString(type));
    }
  }

  /** One SPI message of a stream the peer opened, by its frame type. */
  private static Message parseMessage(int type, int flags, VmId vm, ByteBuf body) {
    switch (type) {
      case TYPE_ENABLE_REQUEST:
        return enableRequest(vm, body);
      case TYPE_ENABLE_RESPONSE:
        return new Message.EnableResponse(vm, readNullableEnum(body,
            Message.EnableStatus.values(), "enable response has unknown status"),
            readNullableString(body), body.readLong());
      case TYPE_CYCLE_BEGIN:
        return cycleBegin(vm, body);
      case TYPE_BLOCK_DATA:
        return blockData(vm, flags, body);
      case TYPE_ZERO_RUN:
        return new Message.ZeroRun(vm, body.readLong(), body.readLong(), readDisk(body),
            body.readLong(), body.readLong());
      case TYPE_CYCLE_END:
        return new Message.CycleEnd(vm, body.readLong(), body.readLong(), body.readLong(),
            body.readInt());
      case TYPE_CYCLE_ACK:
        return new Message.CycleAck(vm, body.readLong());
      case TYPE_CYCLE_REJECTED:
        return new Message.CycleRejected(vm, body.readLong(), readNullableString(body),
            readBoolean(body, "cycle rejected has boolean value"));
      case TYPE_FAILOVER_PREPARED:
        return failoverPrepared(vm, body);
      case TYPE_FAILOVER_COMPLETED:
        return new Message.FailoverCompleted(vm,
            readBoolean(body, "failover completed has boolean value"), readNullableString(body));
      case TYPE_HASH_REQUEST:
        return new Message.HashRequest(vm, body.readLong(), readDisk(body), body.readLong(),
            body.readLong(), body.readInt());
      case TYPE_HASH_RESPONSE:
        return new Message.HashResponse(vm, body.readLong(), readDisk(body), body.readLong(),
            body.readInt(), readHashes(body, "hash response"));
      case TYPE_VERIFY_REQUEST:
        return new Message.VerifyRequest(vm, body.readLong(), readDisk(body), body.readLong(),
            body.readLong(), body.readInt());
      case TYPE_VERIFY_RESPONSE:
        return verifyResponse(vm, body);
      case TYPE_CHANGED_RANGES:
        return changedRanges(vm, body);
      case TYPE_POWER_STATE_QUERY:
        return new Message.PowerStateQuery(vm);
      case TYPE_POWER_STATE_REPORT:
        return new Message.PowerStateReport(vm, readNullableEnum(body,
            io.replica.spi.host.PowerState.values(), "power state report has unknown state"));
      default:
        throw new ProtocolViolation("unknown frame type 0x" + Integer.toHexString(type));
    }
  }

  private static Frame.Sasl sasl(int flags, ByteBuf body) {
    if (body.readableBytes() > SASL_TOKEN_BYTES_MAX) {
      throw new ProtocolViolation("SASL token of " + body.readableBytes() + " bytes is over"
          + " the maximum of " + SASL_TOKEN_BYTES_MAX);
    }
    byte[] token = new byte[body.readableBytes()];
    body.readBytes(token);
    return new Frame.Sasl(flags == FLAG_SASL_DONE, token);
  }

  private static Frame.Hello hello(ByteBuf body) {
    int magic = body.readInt();
    if (magic != MAGIC) {
      throw new ProtocolViolation("hello frame does not start with the protocol's magic"
          + " number; the peer is not a replica transport");
    }
    int min = body.readUnsignedShort();
    int max = body.readUnsignedShort();
    int features = body.readInt();
    String hostName = readString(body);
    // The clock is there only when the feature bit is and 8 bytes follow (an answer).
    Optional<Instant> clock = (features & FEATURE_CLOCK) != 0 && body.readableBytes() == 8
        ? Optional.of(Instant.ofEpochMilli(body.readLong())) : Optional.empty();
    return new Frame.Hello(min, max, features, hostName, clock);
  }

  private static Message.EnableRequest enableRequest(VmId vm, ByteBuf body) {
    String name = readNullableString(body);
    String host = readNullableString(body);
    int count = body.readUnsignedShort();
    if (count > DISKS_MAX) {
      throw new ProtocolViolation("enable request lists " + count + " disks, over the"
          + " protocol's maximum of " + DISKS_MAX);
    }
    List<Message.DiskDescriptor> disks = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      DiskId disk = readDisk(body);
      disks.add(new Message.DiskDescriptor(disk, body.readLong(), body.readInt()));
    }
    int trackingBlock = body.readInt();
    int points = body.readInt();
    long reverseOf = body.readLong();
    boolean existing = readBoolean(body, "enable request has existing-copy flag");
    return new Message.EnableRequest(vm, name, host, disks, trackingBlock, points, reverseOf,
        existing);
  }

  private static Message.CycleBegin cycleBegin(VmId vm, ByteBuf body) {
    long cycle = body.readLong();
    long base = body.readLong();
    int present = body.readUnsignedByte();
    Instant cut;
    if (present == 0) {
      cut = null;
    } else if (present == 1) {
      long seconds = body.readLong();
      int nanos = body.readInt();
      if (nanos < 0 || nanos > 999_999_999) {
        throw new ProtocolViolation("cycle begin has a cut time with " + nanos + " nanos");
      }
      cut = Instant.ofEpochSecond(seconds, nanos);
    } else {
      throw new ProtocolViolation("cycle begin has cut-time marker " + present);
    }
    io.replica.api.RecoveryPointType point = readNullableEnum(body,
        io.replica.api.RecoveryPointType.values(), "cycle begin has unknown recovery point type");
    boolean resync = readBoolean(body, "cycle begin has resynchronization flag");
    return new Message.CycleBegin(vm, cycle, base, cut, point, resync);
  }

  private static Message.BlockData blockData(VmId vm, int flags, ByteBuf body) {
    long cycle = body.readLong();
    long sequence = body.readLong();
    DiskId disk = readDisk(body);
    long offset = body.readLong();
    byte[] data;
    if (flags == FLAG_COMPRESSED) {
      data = decompress(body);
    } else {
      data = new byte[body.readableBytes()];
      body.readBytes(data);
    }
    return new Message.BlockData(vm, cycle, sequence, disk, offset, data);
  }

  /**
   * A compressed payload: its claimed raw length, then zstd data that must say it holds that many
   * bytes before the raw array is allocated.
   */
  private static byte[] decompress(ByteBuf body) {
    int raw = body.readInt();
    if (raw <= 0 || raw > BLOCK_SIZE_BYTES_MAX) {
      throw new ProtocolViolation("compressed block claims " + raw + " bytes, outside 1.."
          + BLOCK_SIZE_BYTES_MAX);
    }
    byte[] packed = new byte[body.readableBytes()];
    body.readBytes(packed);
    // Checked before allocating: a zstd frame header says what it holds (-1: not said).
    long size = packed.length == 0 ? -2 : Zstd.getFrameContentSize(packed);
    if (size != raw && size != -1) {
      throw new ProtocolViolation("compressed block of " + packed.length + " bytes says it"
          + " holds " + (size < 0 ? "no valid zstd frame" : size + " bytes") + ", not the "
          + raw + " bytes it claims");
    }
    byte[] data = new byte[raw];
    long n;
    try {
      n = Zstd.decompressByteArray(data, 0, raw, packed, 0, packed.length);
    } catch (ZstdException e) {
      throw new ProtocolViolation(ERROR_PROTOCOL, "compressed block of " + packed.length
          + " bytes is not valid zstd data: " + e.getMessage(), e);
    }
    if (Zstd.isError(n) || n != raw) {
      throw new ProtocolViolation("compressed block of " + packed.length + " bytes does not"
          + " decompress to the " + raw + " bytes it claims"
          + (Zstd.isError(n) ? " (" + Zstd.getErrorName(n) + ")" : " (got " + n + ")"));
    }
    return data;
  }

  private static Message.FailoverPrepared failoverPrepared(VmId vm, ByteBuf body) {
    long cycle = body.readLong();
    String host = readNullableString(body);
    int port = body.readInt();
    int auth = body.readUnsignedByte();
    io.replica.api.AuthenticationType[] types = io.replica.api.AuthenticationType.values();
    if (auth >= types.length) {
      throw new ProtocolViolation("failover prepared names unknown authentication type " + auth);
    }
    long millis = body.readLong();
    if (millis < 1000) {
      throw new ProtocolViolation("failover prepared has replication frequency " + millis + " ms");
    }
    return new Message.FailoverPrepared(vm, cycle, host, port, types[auth],
        java.time.Duration.ofMillis(millis));
  }

  private static Message.VerifyResponse verifyResponse(VmId vm, ByteBuf body) {
    long request = body.readLong();
    DiskId disk = readDisk(body);
    long offset = body.readLong();
    int blockSize = body.readInt();
    long applied = body.readLong();
    String refusal = readString(body);
    byte[] hashes = readHashes(body, "verify response");
    return new Message.VerifyResponse(vm, request, disk, offset, blockSize, applied, hashes,
        refusal);
  }

  private static Message.ChangedRanges changedRanges(VmId vm, ByteBuf body) {
    DiskId disk = readDisk(body);
    int count = body.readInt();
    if (count < 0 || count > Message.ChangedRanges.MAX_RANGES
        || (long) count * 16 != body.readableBytes()) {
      throw new ProtocolViolation("changed ranges announce " + count + " ranges in "
          + body.readableBytes() + " bytes; at most " + Message.ChangedRanges.MAX_RANGES
          + ", 16 bytes each");
    }
    long[] ranges = new long[count * 2];
    for (int i = 0; i < ranges.length; i++) {
      ranges[i] = body.readLong();
    }
    return new Message.ChangedRanges(vm, disk, ranges);
  }

  /** A length, then that many bytes of 16-byte hashes; the length is checked before allocating. */
  private static byte[] readHashes(ByteBuf body, String what) {
    int length = body.readInt();
    if (length < 0 || length % 16 != 0 || length > body.readableBytes()) {
      throw new ProtocolViolation(what + " announces " + length + " bytes of hashes");
    }
    byte[] hashes = new byte[length];
    body.readBytes(hashes);
    return hashes;
  }

  /** A byte that must be 0 or 1; {@code what} names the field in the error ("... has flag"). */
  private static boolean readBoolean(ByteBuf body, String what) {
    int value = body.readUnsignedByte();
    if (value > 1) {
      throw new ProtocolViolation(what + " " + value);
    }
    return value == 1;
  }

  /** An enum's ordinal in one byte, 0xFF for none. */
  private static <E extends Enum<E>> @Nullable E readNullableEnum(
      ByteBuf body, E[] values, String what) {
    int ordinal = body.readUnsignedByte();
    if (ordinal == 0xFF) {
      return null;
    }
    if (ordinal >= values.length) {
      throw new ProtocolViolation(what + " " + ordinal);
    }
    return values[ordinal];
  }

  private static DiskId readDisk(ByteBuf body) {
    return new DiskId(readUuid(body));
  }

  private void openStream(int stream, int flags, ByteBuf body) {
    if (stream <= 0 || flags != 0) {
      throw new ProtocolViolation("stream-open frame names stream " + stream + " with flags "
          + flags + "; streams are numbered from 1 and the flags must be 0");
    }
    if (streams.containsKey(stream)) {
      throw new ProtocolViolation("stream " + stream + " opened twice");
    }
    if (streams.size() >= STREAMS_MAX) {
      throw new ProtocolViolation("the peer opened more than " + STREAMS_MAX + " streams");
    }
    streams.put(stream, new VmId(readUuid(body)));
  }

  private static UUID readUuid(ByteBuf body) {
    return new UUID(body.readLong(), body.readLong());
  }

  private static @Nullable String readNullableString(ByteBuf body) {
    int length = body.getUnsignedShort(body.readerIndex());
    if (length == 0xFFFF) {
      body.skipBytes(2);
      return null;
    }
    return readString(body);
  }

  private static String readString(ByteBuf body) {
    int length = body.readUnsignedShort();
    if (length > STRING_BYTES_MAX) {
      throw new ProtocolViolation("string field of " + length + " bytes is over the protocol's"
          + " maximum of " + STRING_BYTES_MAX);
    }
    byte[] bytes = new byte[length];
    body.readBytes(bytes);
    try {
      return StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(java.nio.ByteBuffer.wrap(bytes)).toString();
    } catch (CharacterCodingException e) {
      throw new ProtocolViolation(ERROR_PROTOCOL, "string field is not valid UTF-8", e);
    }
  }
}
