package io.replica.testkit.memory;

import static io.replica.testkit.memory.NetworkFixture.KERBEROS;
import static io.replica.testkit.memory.NetworkFixture.ack;
import static io.replica.testkit.memory.NetworkFixture.block;
import static io.replica.testkit.memory.NetworkFixture.bytes;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replica.api.AuthenticationType;
import io.replica.spi.time.Scheduler;
import io.replica.spi.transport.Connection;
import io.replica.spi.transport.Endpoint;
import io.replica.spi.transport.Message;
import io.replica.spi.transport.MessageHandler;
import io.replica.spi.transport.Transport;
import io.replica.testkit.memory.NetworkFixture.Link;
import io.replica.testkit.memory.NetworkFixture.Recorder;
import java.io.IOException;
import java.lang.reflect.RecordComponent;
import java.nio.channels.ClosedChannelException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class InMemoryNetworkDeliveryTest {
  private final NetworkFixture f = new NetworkFixture();

  @Test
  void sendQueuesTheMessageAndASchedulerTaskDeliversIt() {
    Link link = f.connect();
    CompletableFuture<Void> sent = link.client().send(ack(1));
    assertTrue(sent.isDone() && !sent.isCompletedExceptionally(), "send completes once queued");
    assertTrue(link.serverSide().messages.isEmpty(), "delivered inside send()");
    f.scheduler.runUntilIdle();
    assertEquals(List.of(ack(1)), link.serverSide().messages);
  }

  @Test
  void messagesArriveInTheOrderSentInBothDirections() {
    Link link = f.connect();
    for (int i = 0; i < 100; i++) {
      link.client().send(ack(i));
      link.server().send(ack(1000 + i));
    }
    f.scheduler.runUntilIdle();
    List<Long> toReplica = new ArrayList<>();
    List<Long> toPrimary = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      toReplica.add((long) i);
      toPrimary.add(1000L + i);
    }
    assertEquals(toReplica, link.serverSide().ackedCycles());
    assertEquals(toPrimary, link.clientSide().ackedCycles());
    assertEquals(100, f.network.messagesDelivered("primary", "replica"));
  }

  @Test
  void aDelayedMessageIsNeverOvertakenWhenTheDelayShrinks() {
    Link link = f.connect();
    f.network.faults().delay("primary", "replica", Duration.ofMillis(100));
    link.client().send(ack(1));
    link.client().send(ack(2));
    f.network.faults().delay("primary", "replica", Duration.ZERO);
    link.client().send(ack(3));
    f.scheduler.runUntilIdle();
    assertTrue(link.serverSide().messages.isEmpty(), "ack 3 overtook the delayed ones");

    f.scheduler.advance(Duration.ofMillis(99));
    assertTrue(link.serverSide().messages.isEmpty());
    f.scheduler.advance(Duration.ofMillis(1));
    assertEquals(List.of(1L, 2L, 3L), link.serverSide().ackedCycles());
  }

  @Test
  void delayAllAppliesToLinksWithoutTheirOwnDelay() {
    Link link = f.connect();
    f.network.faults().delayAll(Duration.ofSeconds(1));
    f.network.faults().delay("replica", "primary", Duration.ofMillis(10));
    link.client().send(ack(1));
    link.server().send(ack(2));
    f.scheduler.advance(Duration.ofMillis(10));
    assertEquals(List.of(2L), link.clientSide().ackedCycles());
    assertTrue(link.serverSide().messages.isEmpty());
    f.scheduler.advance(Duration.ofMillis(990));
    assertEquals(List.of(1L), link.serverSide().ackedCycles());
  }

  @Test
  void theReceiverGetsItsOwnCopyOfABlock() {
    Link link = f.connect();
    byte[] data = bytes(16, 3);
    link.client().send(block(4096, data));
    link.client().send(block(8192, data)); // reusing an unchanged array is fine
    f.scheduler.runUntilIdle();

    Message.BlockData first = (Message.BlockData) link.serverSide().messages.get(0);
    Message.BlockData second = (Message.BlockData) link.serverSide().messages.get(1);
    assertNotSame(data, first.data());
    assertNotSame(first.data(), second.data());
    assertArrayEquals(data, first.data());
    assertEquals(4096, first.offsetBytes());
    first.data()[0] = 42; // the receiver scribbles on its copy
    assertArrayEquals(bytes(16, 3), data);
    f.network.checkNoViolations();
  }

  @Test
  void aSenderThatChangesAPayloadAfterSendingItIsCaught() {
    Link link = f.connect();
    byte[] buffer = bytes(8, 0);
    link.client().send(block(0, buffer));
    buffer[0] = 99; // the aliasing bug: the buffer is reused before delivery
    f.scheduler.runUntilIdle();

    Message.BlockData received = (Message.BlockData) link.serverSide().messages.get(0);
    assertArrayEquals(bytes(8, 0), received.data(), "the receiver gets the bytes at send()");
    assertEquals(1, f.network.violations().size());
    assertTrue(f.network.violations().get(0).contains("changed by the sender after send()"),
        f.network.violations().get(0));
    AssertionError e = assertThrows(AssertionError.class, f.network::checkNoViolations);
    assertTrue(e.getMessage().contains("1 violation"), e.getMessage());
  }

  /** If the protocol grows a message with an array, the transport's copy-on-send must learn it. */
  @Test
  void onlyTheMessagesThePipeCopiesCarryAMutableArray() {
    List<String> withArrays = new ArrayList<>();
    for (Class<?> type : Message.class.getPermittedSubclasses()) {
      for (RecordComponent component : type.getRecordComponents()) {
        if (component.getType().isArray()) {
          withArrays.add(type.getSimpleName() + "." + component.getName());
        }
      }
    }
    // MessagePipe gives the receiver its own copy of exactly these arrays.
    assertEquals(List.of("HashResponse.hashes", "VerifyResponse.hashes", "ChangedRanges.ranges",
        "BlockData.data"), withArrays);
  }

  @Test
  void anOrderlyCloseDeliversWhatWasSentThenTellsThePeer() {
    Link link = f.connect();
    f.network.faults().delay("primary", "replica", Duration.ofMillis(50));
    link.client().send(ack(1));
    link.client().send(ack(2));
    link.server().send(ack(99)); // on its way to the closing end: lost
    link.client().close();

    assertFalse(link.client().isOpen());
    assertFalse(link.server().isOpen(), "the peer's end refuses sends once the other closed");
    assertFalse(link.client().isWritable());
    f.scheduler.runUntilIdle();
    assertEquals(List.of("closed orderly"), link.clientSide().events);
    assertTrue(link.serverSide().events.isEmpty(), "closed before the delayed messages arrived");

    f.scheduler.advance(Duration.ofMillis(50));
    assertEquals(List.of("message " + ack(1), "message " + ack(2), "closed orderly"),
        link.serverSide().events);
    assertNull(link.serverSide().closedCause);
    assertEquals(0, f.network.openConnectionCount());
  }

  @Test
  void sendingOnAClosedConnectionFailsWithClosedChannelException() {
    Link link = f.connect();
    link.server().close();
    for (Connection end : List.of(link.client(), link.server())) {
      CompletableFuture<Void> sent = end.send(ack(1));
      Throwable cause = InMemoryNetworkConnectTest.failure(sent);
      assertInstanceOf(ClosedChannelException.class, cause);
      assertTrue(cause.getMessage().contains("closed"), cause.getMessage());
    }
  }

  @Test
  void everyEndGetsOnClosedExactlyOnce() {
    Link link = f.connect();
    link.client().close();
    link.client().close();
    link.server().close(); // after the peer's close, before it was told: still one onClosed
    f.scheduler.runUntilIdle();
    link.server().close();
    f.scheduler.runUntilIdle();
    assertEquals(1, link.clientSide().closedCount);
    assertEquals(1, link.serverSide().closedCount);
  }

  @Test
  void closingAfterThePeerClosedStopsDeliveryAtOnce() {
    Link link = f.connect();
    f.network.faults().delay("primary", "replica", Duration.ofMillis(50));
    link.client().send(ack(1));
    link.client().close();
    link.server().close(); // the replica stops reading: ack 1 is lost
    f.scheduler.advance(Duration.ofMillis(50));
    assertEquals(List.of("closed orderly"), link.serverSide().events);
  }

  @Test
  void aConnectionIsNotWritableAboveItsBoundAndSaysSoWhenHalfDrained() {
    NetworkFixture small = new NetworkFixture(1000);
    Link link = small.connect();
    int each = 400 + InMemoryNetwork.MESSAGE_OVERHEAD_BYTES; // 464 bytes counted per block
    link.client().send(block(0, new byte[400]));
    link.client().send(block(400, new byte[400]));
    assertTrue(link.client().isWritable(), 2 * each + " bytes are within the bound");
    CompletableFuture<Void> third = link.client().send(block(800, new byte[400]));
    assertFalse(link.client().isWritable(), 3 * each + " bytes are above the bound");
    assertTrue(third.isDone() && !third.isCompletedExceptionally(), "the bound is advisory");
    assertTrue(link.server().isWritable(), "the other direction is independent");

    // Step task by task: writable again only once in flight <= 500, i.e. after two deliveries.
    while (!link.client().isWritable()) {
      assertTrue(small.scheduler.runNext(), "ran out of tasks before writable");
    }
    assertEquals(2, link.serverSide().messages.size());
    small.scheduler.runUntilIdle();
    assertEquals(1, link.clientSide().writableCount);
    assertEquals(List.of("writable"), link.clientSide().events);
  }

  @Test
  void aHandlerThatThrowsIsAViolationAndSurfacesInTheScheduler() throws IOException {
    Transport.Listener listener = f.replica.listen(
        new Endpoint("replica", 0), AuthenticationType.KERBEROS, c -> new MessageHandler() {
          @Override
          public void onMessage(Connection connection, Message message) {
            throw new IllegalArgumentException("handler bug");
          }

          @Override
          public void onClosed(Connection connection, Throwable cause) {}
        });
    CompletableFuture<Connection> future =
        f.primary.connect(listener.endpoint(), KERBEROS, new Recorder("client"));
    f.scheduler.runUntilIdle();
    future.join().send(ack(1));
    IllegalStateException e = assertThrows(IllegalStateException.class, f.scheduler::runUntilIdle);
    assertInstanceOf(IllegalArgumentException.class, e.getCause());
    assertTrue(f.network.violations().get(0).contains("handler bug"));
  }

  @Test
  void callbacksOfOneHandlerNeverOverlapOnAThreadPool() throws Exception {
    ScheduledExecutorService pool = new ScheduledThreadPoolExecutor(4);
    try {
      InMemoryNetwork network = new InMemoryNetwork(Scheduler.of(pool));
      Transport replica = network.transport("replica");
      int connections = 3;
      int messagesEach = 2000;
      CountDownLatch done = new CountDownLatch(connections * messagesEach);
      AtomicBoolean inside = new AtomicBoolean();
      AtomicInteger overlaps = new AtomicInteger();
      List<List<Long>> received = new ArrayList<>();
      for (int i = 0; i < connections; i++) {
        received.add(new ArrayList<>());
      }
      // One handler for every accepted connection: the SPI says its calls never overlap.
      MessageHandler shared = new MessageHandler() {
        @Override
        public void onMessage(Connection connection, Message message) {
          if (!inside.compareAndSet(false, true)) {
            overlaps.incrementAndGet();
          }
          long cycle = ((Message.CycleAck) message).cycle();
          received.get((int) (cycle / messagesEach)).add(cycle);
          inside.set(false);
          done.countDown();
        }

        @Override
        public void onClosed(Connection connection, Throwable cause) {}
      };
      Transport.Listener listener =
          replica.listen(new Endpoint("replica", 0), AuthenticationType.KERBEROS, c -> shared);
      List<Connection> clients = new ArrayList<>();
      for (int i = 0; i < connections; i++) {
        clients.add(network.transport("primary-" + i)
            .connect(listener.endpoint(), KERBEROS, new Recorder("c" + i))
            .get(30, TimeUnit.SECONDS));
      }
      for (int m = 0; m < messagesEach; m++) {
        for (int i = 0; i < connections; i++) {
          clients.get(i).send(ack((long) i * messagesEach + m));
        }
      }
      assertTrue(done.await(60, TimeUnit.SECONDS), "messages did not all arrive");
      assertEquals(0, overlaps.get());
      for (int i = 0; i < connections; i++) {
        List<Long> expected = new ArrayList<>();
        for (int m = 0; m < messagesEach; m++) {
          expected.add((long) i * messagesEach + m);
        }
        assertEquals(expected, received.get(i));
      }
      network.checkNoViolations();
    } finally {
      pool.shutdownNow();
    }
  }
}
