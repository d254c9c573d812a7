package io.replica.transport.netty.internal.handler;

import io.replica.spi.transport.MessageHandler;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.concurrent.Executor;

/**
 * One {@link SerialExecutor} per message handler, shared by every connection that uses the same
 * handler, so that the SPI's promise (one callback of a handler at a time) holds even then.
 */
public final class Mailboxes {
  private final Executor pool;
  private final Map<MessageHandler, SerialExecutor> byHandler = new IdentityHashMap<>();

  public Mailboxes(Executor pool) {
    this.pool = pool;
  }

  SerialExecutor acquire(MessageHandler handler) {
    synchronized (byHandler) {
      SerialExecutor e = byHandler.computeIfAbsent(handler, h -> new SerialExecutor(pool));
      e.users++;
      return e;
    }
  }

  void release(MessageHandler handler, SerialExecutor executor) {
    synchronized (byHandler) {
      if (--executor.users == 0) {
        byHandler.remove(handler, executor);
      }
    }
  }
}
