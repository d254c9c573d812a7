package io.replica.transport.netty.internal.handler;

import io.netty.channel.Channel;
import io.replica.spi.transport.Message;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What goes from a channel's event loop to the engine's handler: each message and each
 * writability change runs on the connection's serial executor, off the event loop. While more
 * than the in-flight bound waits for the handler the channel stops reading, and it reads again
 * once half of that is left, so a slow handler bounds memory and slows the sender down.
 */
final class InboundFlow {
  private final long inFlightBytesMax;
  private final AtomicLong queuedBytes = new AtomicLong();

  InboundFlow(long inFlightBytesMax) {
    this.inFlightBytesMax = inFlightBytesMax;
  }

  /** Hands {@code message} to the handler of {@code c}; called on the event loop. */
  void deliver(Channel channel, NettyConnection c, Message message) {
    long size = NettyConnection.sizeOf(message);
    long queued = queuedBytes.addAndGet(size);
    if (queued > inFlightBytesMax && channel.config().isAutoRead()) {
      channel.config().setAutoRead(false);
    }
    c.executor.execute(() -> {
      try {
        if (c.closedDelivered) {
          return;
        }
        c.handler().onMessage(c, message);
      } finally {
        long left = queuedBytes.addAndGet(-size);
        if (left <= inFlightBytesMax / 2 && !channel.config().isAutoRead()) {
          resumeReading(channel);
        }
      }
    });
  }

  /** Tells the handler of {@code c} that it may send again; called on the event loop. */
  void writable(NettyConnection c) {
    c.executor.execute(() -> {
      if (c.isOpen()) {
        c.handler().onWritable(c);
      }
    });
  }

  private void resumeReading(Channel channel) {
    try {
      channel.eventLoop().execute(() -> {
        if (!channel.config().isAutoRead() && queuedBytes.get() <= inFlightBytesMax / 2) {
          channel.config().setAutoRead(true);
        }
      });
    } catch (RejectedExecutionException e) {
      // The transport is closing: nothing more to read.
    }
  }
}
