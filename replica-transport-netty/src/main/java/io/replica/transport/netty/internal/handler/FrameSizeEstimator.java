package io.replica.transport.netty.internal.handler;

import io.netty.channel.DefaultMessageSizeEstimator;
import io.netty.channel.MessageSizeEstimator;
import io.replica.transport.netty.internal.codec.Frame;

/**
 * Counts a message written from outside the event loop by its payload, so that writability
 * reflects blocks queued for encoding, not only encoded bytes (Netty would count an unknown
 * object as 8 bytes).
 */
public final class FrameSizeEstimator implements MessageSizeEstimator {
  public static final FrameSizeEstimator INSTANCE = new FrameSizeEstimator();

  private static final Handle BYTES = DefaultMessageSizeEstimator.DEFAULT.newHandle();

  private FrameSizeEstimator() {}

  @Override
  public Handle newHandle() {
    return msg -> msg instanceof Frame.Data
        ? (int) NettyConnection.sizeOf((Frame.Data) msg)
        : BYTES.size(msg);
  }
}
