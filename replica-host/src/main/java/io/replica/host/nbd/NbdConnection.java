package io.replica.host.nbd;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.replica.spi.storage.ByteRange;
import io.replica.spi.storage.VirtualDisk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.NonWritableChannelException;
import java.nio.charset.StandardCharsets;
import java.nio.file.ReadOnlyFileSystemException;
import java.util.ArrayList;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client: fixed newstyle negotiation, then transmission. Parsing and all state live on the
 * channel's event loop; disk I/O runs on the server's executor through {@link SerialTasks}, and
 * replies go back in request order. Every length is checked before anything is allocated.
 */
final class NbdConnection extends ChannelInboundHandlerAdapter {
  private static final Logger LOG = LoggerFactory.getLogger(NbdConnection.class);
  private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(1024 * 1024).asReadOnlyBuffer();
  /** The most block-status descriptors in one reply (the spec asks for at most 2^20). */
  private static final int MAX_EXTENTS = 1 << 16;
  /** Requests queued per connection; small ones cost little bandwidth but a task each. */
  static final int MAX_IN_FLIGHT_REQUESTS = 1024;

  private enum Phase { CLIENT_FLAGS, OPTIONS, TRANSMISSION, DONE }

  private final NbdServer server;
  private final @Nullable SslContext tlsContext;
  private final SerialTasks tasks;
  private final long maxInFlightBytes;
  private ChannelHandlerContext ctx;
  private String peer = "?";
  private @Nullable ByteBuf input;
  private Phase phase = Phase.CLIENT_FLAGS;
  private boolean processing;
  private boolean fixedNewstyle;
  private boolean noZeroes;
  private boolean tls;
  private boolean structured;
  private @Nullable String metaContextExport;
  private boolean metaAllocation;
  private @Nullable Export export;
  private boolean blockStatusAllowed;
  private long discardBytes;
  private @Nullable Runnable afterDiscard;
  private long inFlightBytes;
  private int inFlightRequests;
  private volatile boolean paused;
  private volatile long inFlightHighWaterBytes;
  private @Nullable ChannelFuture lastReply;

  private final Duration negotiationTimeout;
  private io.netty.util.concurrent.@Nullable ScheduledFuture<?> negotiationDeadline;

  NbdConnection(NbdServer server, @Nullable SslContext tlsContext, SerialTasks tasks,
      long maxInFlightBytes, Duration negotiationTimeout) {
    this.server = server;
    this.tlsContext = tlsContext;
    this.tasks = tasks;
    this.maxInFlightBytes = maxInFlightBytes;
    this.negotiationTimeout = negotiationTimeout;
  }

  /** Closes the connection (from any thread); its queued I/O finishes without touching the disk. */
  void close() {
    Channel ch = ctx.channel();
    ch.close();
  }

  /** Whether the server has stopped reading from this client until replies have gone out. */
  boolean paused() {
    return paused;
  }

  /** The most bytes of requests this connection had in flight at once. */
  long inFlightHighWaterBytes() {
    return inFlightHighWaterBytes;
  }

  /** Completes when the connection is closed and no I/O of it runs any more. */
  CompletableFuture<Void> closed() {
    CompletableFuture<Void> f = new CompletableFuture<>();
    ctx.channel().closeFuture().addListener(
        x -> tasks.close().whenComplete((v, e) -> f.complete(null)));
    return f;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
    this.peer = String.valueOf(ctx.channel().remoteAddress());
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    ByteBuf b = ctx.alloc().buffer(18);
    b.writeLong(Nbd.NBDMAGIC).writeLong(Nbd.IHAVEOPT)
        .writeShort(Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES);
    ctx.writeAndFlush(b);
    // A client that connects and never chooses an export holds a socket for nothing.
    negotiationDeadline = ctx.executor().schedule(() -> {
      if (phase == Phase.CLIENT_FLAGS || phase == Phase.OPTIONS) {
        violation("it did not choose an export within " + negotiationTimeout.toMillis()
            + " ms of connecting");
      }
    }, negotiationTimeout.toNanos(), TimeUnit.NANOSECONDS);
    ctx.fireChannelActive();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    phase = Phase.DONE;
    if (negotiationDeadline != null) {
      negotiationDeadline.cancel(false);
    }
    if (input != null) {
      input.release();
      input = null;
    }
    Export e = export;
    if (e != null) {
      e.detach(this);
    }
    tasks.close();
    ctx.fireChannelInactive();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    // Causes from the TLS layer or the socket; their text is ours or the JDK's, not the peer's.
    Throwable tls = cause;
    while (tls != null && !(tls instanceof javax.net.ssl.SSLException)) {
      tls = tls.getCause();
    }
    if (tls != null) {
      // The JDK's text may quote the peer's certificate: escaped.
      LOG.warn("NBD client {}: TLS failed: {} (a client needs a certificate issued by a trusted"
          + " CA)", peer, Nbd.printable(String.valueOf(tls.getMessage()), 300));
    } else {
      LOG.debug("NBD connection from {} failed: {}", peer, cause.toString());
    }
    ctx.close();
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    ByteBuf in = (ByteBuf) msg;
    if (phase == Phase.DONE) {
      in.release();
      return;
    }
    input = input == null
        ? in
        : ByteToMessageDecoder.MERGE_CUMULATOR.cumulate(ctx.alloc(), input, in);
    process();
  }

  private void process() {
    if (processing) {
      return;
    }
    processing = true;
    try {
      while (input != null && phase != Phase.DONE && ctx.channel().isActive()) {
        if (discardBytes > 0) {
          int n = (int) Math.min(discardBytes, input.readableBytes());
          input.skipBytes(n);
          discardBytes -= n;
          if (discardBytes > 0) {
            break;
          }
          Runnable then = afterDiscard;
          afterDiscard = null;
          if (then != null) {
            then.run();
          }
          continue;
        }
        boolean progress;
        switch (phase) {
          case CLIENT_FLAGS:
            progress = clientFlags();
            break;
          case OPTIONS:
            progress = option();
            break;
          case TRANSMISSION:
            progress = request();
            break;
          default:
            progress = false;
        }
        if (!progress) {
          break;
        }
      }
      if (input != null) {
        if (!input.isReadable() || phase == Phase.DONE) {
          input.release();
          input = null;
        } else if (input.refCnt() == 1) {
          // Compacting moves bytes that a queued write's slice still points at; only when
          // no slice is out.
          input.discardSomeReadBytes();
        }
      }
    } finally {
      processing = false;
    }
  }

  private void violation(String what) {
    LOG.warn("closing the NBD connection from {}: {}", peer, what);
    phase = Phase.DONE;
    ctx.close();
  }

  // ---- Negotiation ----

  private boolean clientFlags() {
    if (input.readableBytes() < 4) {
      return false;
    }
    int flags = input.readInt();
    if ((flags & ~(Nbd.FLAG_C_FIXED_NEWSTYLE | Nbd.FLAG_C_NO_ZEROES)) != 0) {
      violation(String.format("unknown client flags 0x%08x (the client speaks a protocol this"
          + " server does not)", flags));
      return false;
    }
    fixedNewstyle = (flags & Nbd.FLAG_C_FIXED_NEWSTYLE) != 0;
    noZeroes = (flags & Nbd.FLAG_C_NO_ZEROES) != 0;
    if (tlsContext != null && !fixedNewstyle) {
      violation("the client does not speak fixed newstyle negotiation, which TLS needs");
      return false;
    }
    phase = Phase.OPTIONS;
    return true;
  }

  private boolean option() {
    if (input.readableBytes() < 16) {
      return false;
    }
    int at = input.readerIndex();
    long magic = input.getLong(at);
    if (magic != Nbd.IHAVEOPT) {
      violation(String.format("bad option magic 0x%016x (not an NBD client, or it lost framing)",
          magic));
      return false;
    }
    int option = input.getInt(at + 8);
    long length = input.getUnsignedInt(at + 12);
    if (option == Nbd.OPT_EXPORT_NAME && length > 4096) {
      violation("export name of " + length + " bytes is over the limit of 4096");
      return false;
    }
    if (length > Nbd.MAX_OPTION_BYTES) {
      input.skipBytes(16);
      discardBytes = length;
      afterDiscard = () -> optionReply(option, Nbd.REP_ERR_TOO_BIG, "option data of " + length
          + " bytes is over this server's limit of " + Nbd.MAX_OPTION_BYTES + " bytes");
      return true;
    }
    if (input.readableBytes() < 16 + length) {
      return false;
    }
    input.skipBytes(16);
    ByteBuf data = input.readSlice((int) length);
    handleOption(option, data);
    return true;
  }

  private void handleOption(int option, ByteBuf data) {
    boolean tlsRequired = tlsContext != null && !tls;
    if (tlsRequired && option != Nbd.OPT_STARTTLS && option != Nbd.OPT_ABORT) {
      if (option == Nbd.OPT_EXPORT_NAME) {
        violation("the client asked for an export without starting TLS, which this listener"
            + " requires");
      } else {
        optionReply(option, Nbd.REP_ERR_TLS_REQD, "this server requires TLS: start it first"
            + " (NBD_OPT_STARTTLS)");
      }
      return;
    }
    switch (option) {
      case Nbd.OPT_EXPORT_NAME:
        exportName(data);
        break;
      case Nbd.OPT_ABORT:
        ack(option, Nbd.REP_ACK).addListener(ChannelFutureListener.CLOSE);
        phase = Phase.DONE;
        break;
      case Nbd.OPT_LIST:
        list(data);
        break;
      case Nbd.OPT_STARTTLS:
        startTls(data);
        break;
      case Nbd.OPT_INFO:
      case Nbd.OPT_GO:
        infoOrGo(option, data);
        break;
      case Nbd.OPT_STRUCTURED_REPLY:
        if (data.isReadable()) {
          optionReply(option, Nbd.REP_ERR_INVALID, "structured reply takes no data");
        } else if (structured) {
          optionReply(option, Nbd.REP_ERR_INVALID, "structured replies are already on");
        } else {
          structured = true;
          ack(option, Nbd.REP_ACK);
        }
        break;
      case Nbd.OPT_LIST_META_CONTEXT:
      case Nbd.OPT_SET_META_CONTEXT:
        metaContext(option, data);
        break;
      default:
        optionReply(option, Nbd.REP_ERR_UNSUP, "option " + Integer.toUnsignedString(option)
            + " is not supported by this server");
    }
  }

  private static String string(ByteBuf data, int length) {
    return data.readCharSequence(length, StandardCharsets.UTF_8).toString();
  }

  private void exportName(ByteBuf data) {
    if (data.readableBytes() > 4096) {
      violation("export name of " + data.readableBytes() + " bytes is over the limit of 4096");
      return;
    }
    String name = string(data, data.readableBytes());
    Export e = server.export(name);
    if (e == null || !enter(e)) {
      // NBD_OPT_EXPORT_NAME cannot answer an error: the spec says to end the session.
      violation("the client asked for export '" + Nbd.printable(name) + "', which does not exist");
      return;
    }
    ByteBuf b = ctx.alloc().buffer(noZeroes ? 10 : 134);
    b.writeLong(e.disk.sizeBytes()).writeShort(e.transmissionFlags(structured));
    if (!noZeroes) {
      b.writeZero(124);
    }
    ctx.writeAndFlush(b);
  }

  private void list(ByteBuf data) {
    if (data.isReadable()) {
      optionReply(Nbd.OPT_LIST, Nbd.REP_ERR_INVALID, "NBD_OPT_LIST takes no data");
      return;
    }
    for (String name : server.exportNames()) {
      byte[] n = name.getBytes(StandardCharsets.UTF_8);
      ByteBuf d = ctx.alloc().buffer(4 + n.length);
      d.writeInt(n.length).writeBytes(n);
      optionReply(Nbd.OPT_LIST, Nbd.REP_SERVER, d);
    }
    ack(Nbd.OPT_LIST, Nbd.REP_ACK);
  }

  private void startTls(ByteBuf data) {
    if (tlsContext == null) {
      optionReply(Nbd.OPT_STARTTLS, Nbd.REP_ERR_POLICY, "this listener does not offer TLS"
          + " (it is a Unix socket or TCP without TLS settings)");
      return;
    }
    if (tls) {
      optionReply(Nbd.OPT_STARTTLS, Nbd.REP_ERR_INVALID, "TLS is already on");
      return;
    }
    if (data.isReadable()) {
      optionReply(Nbd.OPT_STARTTLS, Nbd.REP_ERR_INVALID, "NBD_OPT_STARTTLS takes no data");
      return;
    }
    if (input.isReadable()) {
      violation("the client sent data after NBD_OPT_STARTTLS before the server's answer");
      return;
    }
    // The ACK goes out in clear; the handler inserted after it sees only the handshake.
    ack(Nbd.OPT_STARTTLS, Nbd.REP_ACK);
    tls = true;
    structured = false;
    metaContextExport = null;
    metaAllocation = false;
    SslHandler ssl = tlsContext.newHandler(ctx.alloc());
    ctx.pipeline().addFirst("tls", ssl);
  }

  private void infoOrGo(int option, ByteBuf data) {
    if (data.readableBytes() < 6) {
      optionReply(option, Nbd.REP_ERR_INVALID, "option data of " + data.readableBytes()
          + " bytes is too short (name length, name, request count)");
      return;
    }
    long nameLength = data.readUnsignedInt();
    if (nameLength > data.readableBytes() - 2) {
      optionReply(option, Nbd.REP_ERR_INVALID, "export name length " + nameLength
          + " runs past the option data");
      return;
    }
    String name = string(data, (int) nameLength);
    int count = data.readUnsignedShort();
    if (data.readableBytes() != 2 * count) {
      optionReply(option, Nbd.REP_ERR_INVALID, count + " information requests do not match the"
          + " " + data.readableBytes() + " bytes left in the option");
      return;
    }
    boolean wantName = false;
    boolean wantDescription = false;
    for (int i = 0; i < count; i++) {
      int info = data.readUnsignedShort();
      wantName |= info == Nbd.INFO_NAME;
      wantDescription |= info == Nbd.INFO_DESCRIPTION;
    }
    Export e = server.export(name);
    if (e == null) {
      optionReply(option, Nbd.REP_ERR_UNKNOWN, "no export named '" + Nbd.printable(name)
          + "' on this server (NBD_OPT_LIST shows the exports)");
      return;
    }
    ByteBuf info = ctx.alloc().buffer(12);
    info.writeShort(Nbd.INFO_EXPORT).writeLong(e.disk.sizeBytes())
        .writeShort(e.transmissionFlags(structured));
    optionReply(option, Nbd.REP_INFO, info);
    ByteBuf sizes = ctx.alloc().buffer(14);
    sizes.writeShort(Nbd.INFO_BLOCK_SIZE).writeInt(e.disk.logicalSectorSizeBytes())
        .writeInt(Math.max(Nbd.PREFERRED_BLOCK_BYTES, e.disk.logicalSectorSizeBytes()))
        .writeInt(Nbd.MAX_PAYLOAD_BYTES);
    optionReply(option, Nbd.REP_INFO, sizes);
    if (wantName) {
      byte[] n = e.name.getBytes(StandardCharsets.UTF_8);
      optionReply(option, Nbd.REP_INFO, ctx.alloc().buffer(2 + n.length)
          .writeShort(Nbd.INFO_NAME).writeBytes(n));
    }
    if (wantDescription && !e.description.isEmpty()) {
      byte[] d = e.description.getBytes(StandardCharsets.UTF_8);
      optionReply(option, Nbd.REP_INFO, ctx.alloc().buffer(2 + d.length)
          .writeShort(Nbd.INFO_DESCRIPTION).writeBytes(d));
    }
    if (option == Nbd.OPT_GO) {
      if (!enter(e)) {
        optionReply(option, Nbd.REP_ERR_UNKNOWN, "export '" + Nbd.printable(name)
            + "' was removed");
        return;
      }
    }
    ack(option, Nbd.REP_ACK);
  }

  private boolean enter(Export e) {
    if (!e.attach(this)) {
      return false;
    }
    export = e;
    blockStatusAllowed = structured && metaAllocation && e.name.equals(metaContextExport);
    phase = Phase.TRANSMISSION;
    if (negotiationDeadline != null) {
      negotiationDeadline.cancel(false);
    }
    LOG.debug("NBD client {} uses export '{}'", peer, e.name);
    return true;
  }

  private void metaContext(int option, ByteBuf data) {
    boolean set = option == Nbd.OPT_SET_META_CONTEXT;
    if (set) {
      // Replaces the previous selection even when it fails.
      metaContextExport = null;
      metaAllocation = false;
    }
    if (!structured) {
      optionReply(option, Nbd.REP_ERR_INVALID, "negotiate structured replies before meta"
          + " contexts");
      return;
    }
    if (data.readableBytes() < 8) {
      optionReply(option, Nbd.REP_ERR_INVALID, "meta context option of " + data.readableBytes()
          + " bytes is too short");
      return;
    }
    long nameLength = data.readUnsignedInt();
    if (nameLength > data.readableBytes() - 4) {
      optionReply(option, Nbd.REP_ERR_INVALID, "export name length " + nameLength
          + " runs past the option data");
      return;
    }
    String name = string(data, (int) nameLength);
    long count = data.readUnsignedInt();
    List<String> queries = new ArrayList<>();
    for (long i = 0; i < count; i++) {
      if (data.readableBytes() < 4) {
        optionReply(option, Nbd.REP_ERR_INVALID, "query " + i + " of " + count
            + " runs past the option data");
        return;
      }
      long qLength = data.readUnsignedInt();
      if (qLength > data.readableBytes()) {
        optionReply(option, Nbd.REP_ERR_INVALID, "query length " + qLength
            + " runs past the option data");
        return;
      }
      queries.add(string(data, (int) qLength));
    }
    if (data.isReadable()) {
      optionReply(option, Nbd.REP_ERR_INVALID, data.readableBytes()
          + " bytes follow the last query");
      return;
    }
    if (server.export(name) == null) {
      optionReply(option, Nbd.REP_ERR_UNKNOWN, "no export named '" + Nbd.printable(name)
          + "' on this server");
      return;
    }
    boolean match = false;
    for (String q : queries) {
      match |= q.equals(Nbd.BASE_ALLOCATION) || (!set && q.equals("base:"));
    }
    if (!set && queries.isEmpty()) {
      match = true;
    }
    if (match) {
      byte[] n = Nbd.BASE_ALLOCATION.getBytes(StandardCharsets.US_ASCII);
      ByteBuf d = ctx.alloc().buffer(4 + n.length);
      d.writeInt(set ? Nbd.BASE_ALLOCATION_ID : 0).writeBytes(n);
      optionReply(option, Nbd.REP_META_CONTEXT, d);
    }
    if (set) {
      metaContextExport = name;
      metaAllocation = match;
    }
    ack(option, Nbd.REP_ACK);
  }

  private ChannelFuture ack(int option, int type) {
    return optionReply(option, type, (ByteBuf) null);
  }

  private ChannelFuture optionReply(int option, int type, String message) {
    ByteBuf d = ctx.alloc().buffer();
    d.writeCharSequence(message, StandardCharsets.UTF_8);
    return optionReply(option, type, d);
  }

  private ChannelFuture optionReply(int option, int type, @Nullable ByteBuf data) {
    int length = data == null ? 0 : data.readableBytes();
    ByteBuf b = ctx.alloc().buffer(20 + length);
    b.writeLong(Nbd.OPTION_REPLY_MAGIC).writeInt(option).writeInt(type).writeInt(length);
    if (data != null) {
      b.writeBytes(data);
      data.release();
    }
    return ctx.writeAndFlush(b);
  }

  // ---- Transmission ----

  private boolean request() {
    if (inFlightBytes >= maxInFlightBytes || inFlightRequests >= MAX_IN_FLIGHT_REQUESTS) {
      // Enough work queued: stop reading until replies have gone out.
      if (!paused) {
        paused = true;
        ctx.channel().config().setAutoRead(false);
      }
      return false;
    }
    if (input.readableBytes() < Nbd.REQUEST_HEADER_BYTES) {
      return false;
    }
    int at = input.readerIndex();
    int magic = input.getInt(at);
    if (magic != Nbd.REQUEST_MAGIC) {
      violation(String.format("bad request magic 0x%08x (the client lost framing)", magic));
      return false;
    }
    int flags = input.getUnsignedShort(at + 4);
    int type = input.getUnsignedShort(at + 6);
    long cookie = input.getLong(at + 8);
    long offset = input.getLong(at + 16);
    long length = input.getUnsignedInt(at + 24);
    ByteBuf payload = null;
    if (type == Nbd.CMD_WRITE) {
      if (length > Nbd.MAX_PAYLOAD_BYTES) {
        // Skip the payload without keeping it, then refuse: framing stays intact.
        input.skipBytes(Nbd.REQUEST_HEADER_BYTES);
        discardBytes = length;
        long charge = Nbd.REQUEST_HEADER_BYTES;
        inFlightBytes += charge;
        inFlightRequests++;
        inFlightHighWaterBytes = Math.max(inFlightHighWaterBytes, inFlightBytes);
        afterDiscard = () -> reply(charge, () -> error(cookie, type, Nbd.EINVAL,
            "write of " + length + " bytes is over the maximum payload of "
                + Nbd.MAX_PAYLOAD_BYTES));
        return true;
      }
      if (input.readableBytes() < Nbd.REQUEST_HEADER_BYTES + length) {
        return false;
      }
      input.skipBytes(Nbd.REQUEST_HEADER_BYTES);
      payload = input.readRetainedSlice((int) length);
    } else {
      input.skipBytes(Nbd.REQUEST_HEADER_BYTES);
    }
    dispatch(flags, type, cookie, offset, length, payload);
    return true;
  }

  private void dispatch(int flags, int type, long cookie, long offset, long length,
      @Nullable ByteBuf payload) {
    Export e = export;
    VirtualDisk disk = e.disk;
    long size = disk.sizeBytes();
    int sector = disk.logicalSectorSizeBytes();
    boolean inside = offset >= 0 && offset <= size && length <= size - offset;
    boolean aligned = offset % sector == 0 && length % sector == 0;
    boolean fua = (flags & Nbd.CMD_FLAG_FUA) != 0;
    String where = "[" + Long.toUnsignedString(offset) + ", +" + length + ")";
    long charge = Nbd.REQUEST_HEADER_BYTES + (payload == null ? 0 : length);
    String refusal = null;
    int error = 0;
    int allowed = Nbd.CMD_FLAG_FUA;
    switch (type) {
      case Nbd.CMD_READ:
        allowed |= structured ? Nbd.CMD_FLAG_DF : 0;
        if (length > Nbd.MAX_PAYLOAD_BYTES) {
          error = structured ? Nbd.EOVERFLOW : Nbd.EINVAL;
          refusal = "read of " + length + " bytes is over the maximum payload of "
              + Nbd.MAX_PAYLOAD_BYTES;
        } else {
          charge += length;
        }
        break;
      case Nbd.CMD_WRITE:
      case Nbd.CMD_WRITE_ZEROES:
      case Nbd.CMD_TRIM:
        allowed |= type == Nbd.CMD_WRITE_ZEROES ? Nbd.CMD_FLAG_NO_HOLE : 0;
        if (e.readOnly) {
          error = Nbd.EPERM;
          refusal = "export '" + Nbd.printable(e.name) + "' is read-only";
        }
        break;
      case Nbd.CMD_FLUSH:
        if (offset != 0 || length != 0) {
          error = Nbd.EINVAL;
          refusal = "flush must have offset and length 0";
        }
        break;
      case Nbd.CMD_CACHE:
        break;
      case Nbd.CMD_BLOCK_STATUS:
        allowed |= Nbd.CMD_FLAG_REQ_ONE;
        if (!blockStatusAllowed) {
          error = Nbd.EINVAL;
          refusal = "block status needs base:allocation selected for this export during"
              + " negotiation";
        } else if (length == 0) {
          error = Nbd.EINVAL;
          refusal = "block status of 0 bytes";
        }
        break;
      case Nbd.CMD_DISC:
        phase = Phase.DONE;
        if (payload != null) {
          payload.release();
        }
        tasks.submit(() -> ctx.channel().eventLoop().execute(() -> {
          ChannelFuture last = lastReply;
          if (last == null) {
            ctx.close();
          } else {
            last.addListener(ChannelFutureListener.CLOSE);
          }
        }));
        return;
      default:
        error = Nbd.EINVAL;
        refusal = "unknown command " + type;
    }
    if (error == 0 && (flags & ~allowed) != 0) {
      error = Nbd.EINVAL;
      refusal = String.format("flags 0x%04x are not valid for command %d", flags, type);
    }
    if (error == 0 && type != Nbd.CMD_FLUSH && !inside) {
      error = type == Nbd.CMD_WRITE || type == Nbd.CMD_WRITE_ZEROES ? Nbd.ENOSPC : Nbd.EINVAL;
      refusal = "range " + where + " is not inside the export of " + size + " bytes";
    }
    if (error == 0 && type != Nbd.CMD_FLUSH && type != Nbd.CMD_BLOCK_STATUS
        && type != Nbd.CMD_CACHE && !aligned) {
      error = Nbd.EINVAL;
      refusal = "range " + where + " is not aligned to the export's " + sector + "-byte"
          + " sectors (the minimum block size)";
    }
    inFlightBytes += charge;
    inFlightRequests++;
    inFlightHighWaterBytes = Math.max(inFlightHighWaterBytes, inFlightBytes);
    if (error != 0) {
      if (payload != null) {
        payload.release();
      }
      int code = error;
      String text = refusal;
      reply(charge, () -> error(cookie, type, code, text));
      return;
    }
    ByteBuf data = payload;
    reply(charge, () -> {
      try {
        if (!ctx.channel().isActive()) {
          return null; // the client is gone: leave the disk alone
        }
        return execute(disk, flags, type, cookie, offset, length, data, fua);
      } finally {
        if (data != null) {
          data.release();
        }
      }
    });
  }

  private interface Work {
    @Nullable ByteBuf run();
  }

  /** Queues work whose result is a reply, and sends the reply in order when it is ready. */
  private void reply(long charge, Work work) {
    Channel ch = ctx.channel();
    try {
      tasks.submit(() -> {
        ByteBuf reply = work.run();
        ch.eventLoop().execute(() -> send(reply, charge));
      });
    } catch (RejectedExecutionException e) {
      LOG.warn("NBD I/O executor refused work for {}; closing the connection", peer);
      ctx.close();
    }
  }

  private void send(@Nullable ByteBuf reply, long charge) {
    if (reply == null || !ctx.channel().isActive()) {
      if (reply != null) {
        reply.release();
      }
      released(charge);
      return;
    }
    ChannelFuture f = ctx.writeAndFlush(reply);
    lastReply = f;
    f.addListener(x -> released(charge));
  }

  private void released(long charge) {
    inFlightBytes -= charge;
    inFlightRequests--;
    if (paused && inFlightBytes < maxInFlightBytes
        && inFlightRequests < MAX_IN_FLIGHT_REQUESTS) {
      paused = false;
      ctx.channel().config().setAutoRead(true);
      process();
    }
  }

  private ByteBuf execute(VirtualDisk disk, int flags, int type, long cookie, long offset,
      long length, @Nullable ByteBuf payload, boolean fua) {
    ByteBufAllocator alloc = ctx.alloc();
    try {
      switch (type) {
        case Nbd.CMD_READ:
          return read(alloc, disk, cookie, offset, (int) length);
        case Nbd.CMD_WRITE:
          disk.write(offset, payload.nioBuffer());
          break;
        case Nbd.CMD_WRITE_ZEROES:
          writeZeroes(disk, offset, length, (flags & Nbd.CMD_FLAG_NO_HOLE) != 0);
          break;
        case Nbd.CMD_TRIM:
          try {
            if (length > 0) {
              disk.trim(offset, length);
            }
          } catch (UnsupportedOperationException e) {
            // A hint the disk cannot take; the data stays as it was, which TRIM allows.
          }
          break;
        case Nbd.CMD_FLUSH:
          disk.flush();
          break;
        case Nbd.CMD_CACHE:
          break;
        case Nbd.CMD_BLOCK_STATUS:
          return blockStatus(alloc, disk, flags, cookie, offset, length);
        default:
          throw new IllegalStateException("command " + type + " passed validation");
      }
      if (fua && type != Nbd.CMD_FLUSH) {
        disk.flush();
      }
      return simple(alloc, cookie, 0);
    } catch (IllegalArgumentException e) {
      return error(cookie, type, Nbd.EINVAL, e.getMessage());
    } catch (ReadOnlyFileSystemException | NonWritableChannelException e) {
      return error(cookie, type, Nbd.EPERM, "the disk is read-only");
    } catch (ClosedChannelException e) {
      return error(cookie, type, Nbd.ESHUTDOWN, "the disk was closed");
    } catch (IOException | RuntimeException e) {
      LOG.warn("NBD command {} on export '{}' at offset {} failed: {}", type,
          Nbd.printable(export.name), Long.toUnsignedString(offset), e.toString());
      return error(cookie, type, Nbd.EIO, "I/O error on the server: " + e.getMessage());
    }
  }

  private ByteBuf read(ByteBufAllocator alloc, VirtualDisk disk, long cookie, long offset,
      int length) throws IOException {
    int header = structured ? 28 : 16;
    if (structured && length == 0) {
      return chunk(alloc, cookie, Nbd.REPLY_TYPE_NONE, 0);
    }
    ByteBuf b = alloc.buffer(header + length);
    try {
      if (structured) {
        b.writeInt(Nbd.STRUCTURED_REPLY_MAGIC).writeShort(Nbd.REPLY_FLAG_DONE)
            .writeShort(Nbd.REPLY_TYPE_OFFSET_DATA).writeLong(cookie).writeInt(8 + length)
            .writeLong(offset);
      } else {
        b.writeInt(Nbd.SIMPLE_REPLY_MAGIC).writeInt(0).writeLong(cookie);
      }
      ByteBuffer dst = b.nioBuffer(b.writerIndex(), length);
      disk.read(offset, dst);
      b.writerIndex(b.writerIndex() + length);
      ByteBuf done = b;
      b = null;
      return done;
    } finally {
      if (b != null) {
        b.release();
      }
    }
  }

  private static void writeZeroes(VirtualDisk disk, long offset, long length, boolean noHole)
      throws IOException {
    if (length == 0) {
      return;
    }
    if (!noHole) {
      try {
        // The disk contract: a trimmed range reads as zeros from then on.
        disk.trim(offset, length);
        return;
      } catch (UnsupportedOperationException e) {
        // Write the zeros instead.
      }
    }
    long at = offset;
    long end = offset + length;
    while (at < end) {
      int n = (int) Math.min(ZEROS.capacity(), end - at);
      ByteBuffer z = ZEROS.duplicate();
      z.limit(n);
      disk.write(at, z);
      at += n;
    }
  }

  private ByteBuf blockStatus(ByteBufAllocator alloc, VirtualDisk disk, int flags, long cookie,
      long offset, long length) throws IOException {
    List<ByteRange> ranges = disk.allocatedRanges();
    long end = offset + length;
    boolean one = (flags & Nbd.CMD_FLAG_REQ_ONE) != 0;
    int limit = one ? 1 : MAX_EXTENTS;
    List<long[]> extents = new ArrayList<>();
    // First range that ends after offset.
    int lo = 0;
    int hi = ranges.size();
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (ranges.get(mid).endBytes() <= offset) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    long at = offset;
    for (int i = lo; i < ranges.size() && at < end && extents.size() < limit; i++) {
      ByteRange r = ranges.get(i);
      if (r.offsetBytes() > at) {
        long holeEnd = Math.min(r.offsetBytes(), end);
        add(extents, holeEnd - at, Nbd.STATE_HOLE | Nbd.STATE_ZERO);
        at = holeEnd;
      }
      if (at < end && extents.size() < limit) {
        long dataEnd = Math.min(r.endBytes(), end);
        if (dataEnd > at) {
          add(extents, dataEnd - at, 0);
          at = dataEnd;
        }
      }
    }
    if (at < end && extents.size() < limit) {
      add(extents, end - at, Nbd.STATE_HOLE | Nbd.STATE_ZERO);
    }
    while (extents.size() > limit) {
      extents.remove(extents.size() - 1);
    }
    ByteBuf b = chunkHeader(alloc, cookie, Nbd.REPLY_TYPE_BLOCK_STATUS, 4 + 8 * extents.size());
    b.writeInt(Nbd.BASE_ALLOCATION_ID);
    for (long[] x : extents) {
      b.writeInt((int) x[0]).writeInt((int) x[1]);
    }
    return b;
  }

  private static void add(List<long[]> extents, long length, int flags) {
    if (!extents.isEmpty() && extents.get(extents.size() - 1)[1] == flags) {
      extents.get(extents.size() - 1)[0] += length;
    } else {
      extents.add(new long[] {length, flags});
    }
  }

  private static ByteBuf simple(ByteBufAllocator alloc, long cookie, int error) {
    return alloc.buffer(16).writeInt(Nbd.SIMPLE_REPLY_MAGIC).writeInt(error).writeLong(cookie);
  }

  private static ByteBuf chunkHeader(ByteBufAllocator alloc, long cookie, int type, int length) {
    ByteBuf b = alloc.buffer(20 + length);
    b.writeInt(Nbd.STRUCTURED_REPLY_MAGIC).writeShort(Nbd.REPLY_FLAG_DONE).writeShort(type)
        .writeLong(cookie).writeInt(length);
    return b;
  }

  private static ByteBuf chunk(ByteBufAllocator alloc, long cookie, int type, int length) {
    return chunkHeader(alloc, cookie, type, length);
  }

  private ByteBuf error(long cookie, int type, int error, @Nullable String message) {
    ByteBufAllocator alloc = ctx.alloc();
    if (!structured) {
      return simple(alloc, cookie, error);
    }
    byte[] m = String.valueOf(message).getBytes(StandardCharsets.UTF_8);
    int n = Math.min(m.length, 4096);
    ByteBuf b = chunkHeader(alloc, cookie, Nbd.REPLY_TYPE_ERROR, 6 + n);
    b.writeInt(error).writeShort(n).writeBytes(m, 0, n);
    return b;
  }
}
