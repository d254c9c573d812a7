package io.replica.transport.netty;

import io.replica.api.AuthenticationType;
import io.replica.spi.transport.Connection;
import io.replica.spi.transport.ConnectOptions;
import io.replica.spi.transport.Endpoint;
import io.replica.spi.transport.Message;
import io.replica.spi.transport.MessageHandler;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/** Helpers for transport tests: a recording handler and common options. */
final class Peers {
  private Peers() {}

  static final ConnectOptions TLS = new ConnectOptions(AuthenticationType.CERTIFICATE, false);
  static final ConnectOptions TLS_ZSTD = new ConnectOptions(AuthenticationType.CERTIFICATE, true);

  static Endpoint any() {
    return new Endpoint("127.0.0.1", 0);
  }

  /** Records what arrives; tests wait on its queue with a generous bound, never on time. */
  static final class Recorder implements MessageHandler {
    final LinkedBlockingQueue<Message> messages = new LinkedBlockingQueue<>();
    final List<@Nullable Throwable> closes = new CopyOnWriteArrayList<>();
    final CountDownLatch closed = new CountDownLatch(1);
    final List<String> threads = new CopyOnWriteArrayList<>();

    @Override
    public void onMessage(Connection connection, Message message) {
      threads.add(Thread.currentThread().getName());
      messages.add(message);
    }

    @Override
    public void onClosed(Connection connection, @Nullable Throwable cause) {
      closes.add(cause);
      closed.countDown();
    }

    Message next() throws InterruptedException {
      Message m = messages.poll(30, TimeUnit.SECONDS);
      if (m == null) {
        throw new AssertionError("no message within 30 s");
      }
      return m;
    }

    void awaitClosed() throws InterruptedException {
      if (!closed.await(30, TimeUnit.SECONDS)) {
        throw new AssertionError("not closed within 30 s");
      }
    }
  }
}
