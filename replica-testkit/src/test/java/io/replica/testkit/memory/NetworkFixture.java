package io.replica.testkit.memory;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replica.api.AuthenticationType;
import io.replica.api.DiskId;
import io.replica.api.VmId;
import io.replica.spi.transport.ConnectOptions;
import io.replica.spi.transport.Connection;
import io.replica.spi.transport.Endpoint;
import io.replica.spi.transport.Message;
import io.replica.spi.transport.MessageHandler;
import io.replica.spi.transport.Transport;
import io.replica.testkit.time.ManualClock;
import io.replica.testkit.time.ManualScheduler;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.jspecify.annotations.Nullable;

/** A manual scheduler, a network on it, two hosts, and helpers to connect them. */
final class NetworkFixture {
  static final VmId VM = VmId.of(new UUID(0, 1));
  static final DiskId DISK = DiskId.of(new UUID(0, 2));
  static final ConnectOptions KERBEROS = new ConnectOptions(AuthenticationType.KERBEROS, false);

  final ManualClock clock = new ManualClock(Instant.parse("2024-01-01T00:00:00Z"));
  final ManualScheduler scheduler = new ManualScheduler(clock);
  final InMemoryNetwork network;
  final Transport primary;
  final Transport replica;

  NetworkFixture() {
    this(InMemoryNetwork.DEFAULT_IN_FLIGHT_BYTES_MAX);
  }

  NetworkFixture(long inFlightBytesMax) {
    network = new InMemoryNetwork(scheduler, inFlightBytesMax);
    primary = network.transport("primary");
    replica = network.transport("replica");
  }

  /** A connection from primary to replica, established; both ends with their recorders. */
  Link connect() {
    Recorder serverSide = new Recorder("replica");
    Transport.Listener listener = listen(replica, "replica", serverSide);
    Recorder clientSide = new Recorder("primary");
    CompletableFuture<Connection> future =
        primary.connect(listener.endpoint(), KERBEROS, clientSide);
    scheduler.runUntilIdle();
    assertTrue(future.isDone(), "connect did not complete");
    Connection client = future.join();
    return new Link(listener, client, clientSide, serverSide.connection(), serverSide);
  }

  /** Listens on a free port of {@code host} with Kerberos; every accepted connection gets {@code handler}. */
  Transport.Listener listen(Transport transport, String host, Recorder handler) {
    try {
      return transport.listen(new Endpoint(host, 0), AuthenticationType.KERBEROS, c -> {
        handler.connection = c;
        return handler;
      });
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static Message.CycleAck ack(long cycle) {
    return new Message.CycleAck(VM, cycle);
  }

  static Message.BlockData block(long offset, byte[] data) {
    return new Message.BlockData(VM, 1, 1, DISK, offset, data);
  }

  static byte[] bytes(int length, int seed) {
    byte[] data = new byte[length];
    for (int i = 0; i < length; i++) {
      data[i] = (byte) (seed + i);
    }
    return data;
  }

  /** Both ends of one connection. */
  record Link(
      Transport.Listener listener, Connection client, Recorder clientSide, Connection server,
      Recorder serverSide) {}

  /** Records every callback, and fails on a callback after onClosed. */
  static final class Recorder implements MessageHandler {
    final String name;
    final List<Message> messages = new ArrayList<>();
    final List<String> events = new ArrayList<>();
    @Nullable Connection connection;
    @Nullable Throwable closedCause;
    int closedCount;
    int writableCount;

    Recorder(String name) {
      this.name = name;
    }

    Connection connection() {
      if (connection == null) {
        throw new AssertionError(name + " has not seen its connection yet");
      }
      return connection;
    }

    @Override
    public void onMessage(Connection connection, Message message) {
      checkNotClosed("onMessage");
      this.connection = connection;
      messages.add(message);
      events.add("message " + message);
    }

    @Override
    public void onWritable(Connection connection) {
      checkNotClosed("onWritable");
      writableCount++;
      events.add("writable");
    }

    @Override
    public void onClosed(Connection connection, @Nullable Throwable cause) {
      checkNotClosed("onClosed");
      this.connection = connection;
      closedCount++;
      closedCause = cause;
      events.add("closed " + (cause == null ? "orderly" : cause.getClass().getSimpleName()));
    }

    private void checkNotClosed(String callback) {
      if (closedCount > 0) {
        throw new AssertionError(name + " got " + callback + " after onClosed");
      }
    }

    List<Long> ackedCycles() {
      List<Long> cycles = new ArrayList<>();
      for (Message m : messages) {
        cycles.add(((Message.CycleAck) m).cycle());
      }
      return cycles;
    }
  }
}
