package io.replica.host.nbd;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.replica.spi.storage.VirtualDisk;
import java.util.concurrent.RejectedExecutionException;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The transmission phase of one connection, on the export it chose: reads requests, refuses
 * what the protocol or the export does not allow, queues the rest on {@link SerialTasks} (run by
 * {@link NbdCommands}) and sends the replies in request order. It stops reading while too many
 * bytes or requests are in flight, and reads again as replies go out. Runs on the channel's event
 * loop.
 */
final class NbdTransmission {
  private static final Logger LOG = LoggerFactory.getLogger(NbdTransmission.class);
  /** Requests queued per connection; small ones cost little bandwidth but a task each. */
  static final int MAX_IN_FLIGHT_REQUESTS = 1024;

  private final NbdConnection connection;
  private final ChannelHandlerContext ctx;
  private final SerialTasks tasks;
  private final Export export;
  private final NbdCommands commands;
  private final boolean structured;
  private final boolean blockStatusAllowed;
  private final long maxInFlightBytes;
  private final String peer;
  private long inFlightBytes;
  private int inFlightRequests;
  private volatile boolean paused;
  private volatile long inFlightHighWaterBytes;
  private @Nullable ChannelFuture lastReply;

  NbdTransmission(NbdConnection connection, Export export, boolean structured,
      boolean blockStatusAllowed) {
    this.connection = connection;
    this.ctx = connection.ctx();
    this.tasks = connection.tasks();
    this.export = export;
    this.structured = structured;
    this.blockStatusAllowed = blockStatusAllowed;
    this.maxInFlightBytes = connection.maxInFlightBytes();
    this.peer = connection.peer();
    this.commands = new NbdCommands(ctx.alloc(), export, structured);
  }

  Export export() {
    return export;
  }

  /** Whether reading stopped until replies have gone out. */
  boolean paused() {
    return paused;
  }

  /** The most bytes of requests in flight at once. */
  long inFlightHighWaterBytes() {
    return inFlightHighWaterBytes;
  }

  /**
   * Reads one request from {@code input} and queues it.
   *
   * @return whether it consumed anything (false: wait for more bytes or for replies to go out)
   */
  boolean request(ByteBuf input) {
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
      connection.violation(String.format("bad request magic 0x%08x (the client lost framing)", magic));
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
        long charge = Nbd.REQUEST_HEADER_BYTES;
        inFlightBytes += charge;
        inFlightRequests++;
        inFlightHighWaterBytes = Math.max(inFlightHighWaterBytes, inFlightBytes);
        connection.discard(length, () -> reply(charge, () -> commands.error(cookie, type,
            Nbd.EINVAL, "write of " + length + " bytes is over the maximum payload of "
                + Nbd.MAX_PAYLOAD_BYTES)));
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
        connection.end();
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
      reply(charge, () -> commands.error(cookie, type, code, text));
      return;
    }
    ByteBuf data = payload;
    reply(charge, () -> {
      try {
        if (!ctx.channel().isActive()) {
          return null; // the client is gone: leave the disk alone
        }
        return commands.execute(flags, type, cookie, offset, length, data, fua);
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
      connection.process();
    }
  }
}
