package io.replica.host.nbd;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * The negotiation phase of one connection (fixed newstyle): the client's flags, then options
 * until NBD_OPT_GO or NBD_OPT_EXPORT_NAME chooses an export, which starts the connection's
 * {@link NbdTransmission}. TLS (NBD_OPT_STARTTLS), structured replies and the base:allocation
 * meta context are agreed here. Runs on the channel's event loop.
 */
final class NbdNegotiation {
  private final NbdConnection connection;
  private final NbdServer server;
  private final @Nullable SslContext tlsContext;
  private final ChannelHandlerContext ctx;
  private ByteBuf input;
  private boolean flagsRead;
  private boolean fixedNewstyle;
  private boolean noZeroes;
  private boolean tls;
  private boolean structured;
  private @Nullable String metaContextExport;
  private boolean metaAllocation;

  NbdNegotiation(NbdConnection connection, NbdServer server, @Nullable SslContext tlsContext) {
    this.connection = connection;
    this.server = server;
    this.tlsContext = tlsContext;
    this.ctx = connection.ctx();
  }

  /** The server's greeting, sent when the client connects. */
  void greet() {
    ByteBuf b = ctx.alloc().buffer(18);
    b.writeLong(Nbd.NBDMAGIC).writeLong(Nbd.IHAVEOPT)
        .writeShort(Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES);
    ctx.writeAndFlush(b);
  }

  /**
   * Reads the client's flags or one option from {@code in}.
   *
   * @return whether it consumed anything (false: wait for more bytes, or the connection ended)
   */
  boolean step(ByteBuf in) {
    input = in;
    return flagsRead ? option() : clientFlags();
  }

  private void violation(String what) {
    connection.violation(what);
  }

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
    flagsRead = true;
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
      connection.discard(length, () -> optionReply(option, Nbd.REP_ERR_TOO_BIG, "option data"
          + " of " + length + " bytes is over this server's limit of " + Nbd.MAX_OPTION_BYTES
          + " bytes"));
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
        connection.end();
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

  /**
   * Reads an export name (32-bit length, then the name) that {@code after} more bytes must
   * follow; answers the option with an error and returns null if it runs past the data.
   */
  private @Nullable String nameField(int option, ByteBuf data, int after) {
    long length = data.readUnsignedInt();
    if (length > data.readableBytes() - after) {
      optionReply(option, Nbd.REP_ERR_INVALID, "export name length " + length
          + " runs past the option data");
      return null;
    }
    return string(data, (int) length);
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
    String name = nameField(option, data, 2);
    if (name == null) {
      return;
    }
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

  /** Enters transmission on {@code e}; false if the export was removed meanwhile. */
  private boolean enter(Export e) {
    if (!e.attach(connection)) {
      return false;
    }
    boolean blockStatusAllowed = structured && metaAllocation && e.name.equals(metaContextExport);
    connection.enter(new NbdTransmission(connection, e, structured, blockStatusAllowed));
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
    String name = nameField(option, data, 4);
    if (name == null) {
      return;
    }
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
}
