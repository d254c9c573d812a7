package io.replica.transport.netty.internal.handler;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.util.concurrent.PromiseCombiner;

/**
 * Cuts outgoing buffers into chunks before a bandwidth shaper. A shaper holds back whole
 * messages: a 256 KiB frame on a 6 KiB/s link would leave in one burst after 43 s of silence,
 * and the peer would take the link for dead. In chunks of about a tenth of a second's worth, the
 * bytes flow steadily and the peer sees them arrive.
 */
public final class WriteChunker extends ChannelOutboundHandlerAdapter {
  private final int chunkBytes;

  /**
   * @param bytesPerSecond the slowest limit of the shapers below this handler
   */
  public WriteChunker(long bytesPerSecond) {
    this.chunkBytes = (int) Math.max(512, Math.min(64 * 1024, bytesPerSecond / 10));
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    if (!(msg instanceof ByteBuf) || ((ByteBuf) msg).readableBytes() <= chunkBytes) {
      ctx.write(msg, promise);
      return;
    }
    ByteBuf buf = (ByteBuf) msg;
    PromiseCombiner all = new PromiseCombiner(ctx.executor());
    try {
      while (buf.isReadable()) {
        ChannelPromise part = ctx.newPromise();
        all.add(part);
        ctx.write(buf.readRetainedSlice(Math.min(chunkBytes, buf.readableBytes())), part);
      }
    } finally {
      buf.release();
    }
    all.finish(promise);
  }
}
