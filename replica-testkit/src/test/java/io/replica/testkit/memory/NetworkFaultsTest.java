package io.replica.testkit.memory;

import static io.replica.testkit.memory.NetworkFixture.KERBEROS;
import static io.replica.testkit.memory.NetworkFixture.VM;
import static io.replica.testkit.memory.NetworkFixture.ack;
import static io.replica.testkit.memory.NetworkFixture.block;
import static io.replica.testkit.memory.NetworkFixture.bytes;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replica.spi.transport.Connection;
import io.replica.spi.transport.Message;
import io.replica.testkit.memory.NetworkFixture.Link;
import io.replica.testkit.memory.NetworkFixture.Recorder;
import java.io.IOException;
import java.net.ConnectException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

class NetworkFaultsTest {
  private final NetworkFixture f = new NetworkFixture();
  private final NetworkFaults faults = f.network.faults();

  @Test
  void dropNextLosesExactlyTheNextMessagesOnThatLink() {
    Link link = f.connect();
    faults.dropNext("PRIMARY", "replica", 2);
    for (int i = 1; i <= 4; i++) {
      assertFalse(link.client().send(ack(i)).isCompletedExceptionally(), "a drop is silent");
      link.server().send(ack(10 + i)); // the other direction is untouched
    }
    f.scheduler.runUntilIdle();
    assertEquals(List.of(3L, 4L), link.serverSide().ackedCycles());
    assertEquals(List.of(11L, 12L, 13L, 14L), link.clientSide().ackedCycles());
    assertEquals(4, f.network.messagesSent("primary", "replica"));
    assertEquals(2, f.network.messagesDropped("primary", "replica"));
    assertEquals(2, f.network.messagesDelivered("primary", "replica"));
  }

  @Test
  void dropNextWithAFilterDropsOnlyMatchingMessages() {
    Link link = f.connect();
    faults.dropNext("replica", "primary", 1, m -> m instanceof Message.CycleAck);
    Message rejected = new Message.CycleRejected(VM, 1, "test", false);
    link.server().send(rejected);
    link.server().send(ack(1));
    link.server().send(ack(2));
    f.scheduler.runUntilIdle();
    assertEquals(List.of(rejected, ack(2)), link.clientSide().messages);
  }

  @Test
  void dropMatchingDropsOnEveryLinkUntilCleared() {
    Link link = f.connect();
    faults.dropMatching(m -> m instanceof Message.CycleAck);
    link.client().send(ack(1));
    link.server().send(ack(2));
    f.scheduler.runUntilIdle();
    assertTrue(link.serverSide().messages.isEmpty());
    assertTrue(link.clientSide().messages.isEmpty());

    faults.clear();
    link.server().send(ack(3));
    f.scheduler.runUntilIdle();
    assertEquals(List.of(3L), link.clientSide().ackedCycles());
  }

  @Test
  void dropMatchingOnOneLinkLeavesTheOthersAlone() {
    Link link = f.connect();
    faults.dropMatching("replica", "primary", m -> true);
    link.client().send(ack(1));
    link.server().send(ack(2));
    f.scheduler.runUntilIdle();
    assertEquals(List.of(1L), link.serverSide().ackedCycles());
    assertTrue(link.clientSide().messages.isEmpty());
  }

  @Test
  void reorderNextSwapsAMessageWithTheOneAfterIt() {
    Link link = f.connect();
    faults.reorderNext("primary", "replica", 1);
    link.client().send(ack(1));
    link.client().send(ack(2));
    link.client().send(ack(3));
    f.scheduler.runUntilIdle();
    assertEquals(List.of(2L, 1L, 3L), link.serverSide().ackedCycles());
  }

  @Test
  void duplicateNextDeliversEachOfTheNextMessagesTwiceInOrder() {
    Link link = f.connect();
    faults.duplicateNext("primary", "replica", 2);
    link.client().send(ack(1));
    link.client().send(ack(2));
    link.client().send(ack(3));
    f.scheduler.runUntilIdle();
    assertEquals(List.of(1L, 1L, 2L, 2L, 3L), link.serverSide().ackedCycles());
    assertEquals(3, f.network.messagesSent("primary", "replica"));
    assertEquals(5, f.network.messagesDelivered("primary", "replica"));
  }

  @Test
  void corruptNextInvertsTheFirstByteOfTheNextBlocksOnly() {
    Link link = f.connect();
    faults.corruptNext("primary", "replica", 1);
    link.client().send(ack(1)); // not a block: untouched, and the corruption stays armed
    link.client().send(block(0, bytes(4, 1)));
    link.client().send(block(4, bytes(4, 1)));
    f.scheduler.runUntilIdle();
    List<Message> got = link.serverSide().messages;
    assertEquals(ack(1), got.get(0));
    assertArrayEquals(new byte[] {(byte) ~1, 2, 3, 4}, ((Message.BlockData) got.get(1)).data());
    assertArrayEquals(bytes(4, 1), ((Message.BlockData) got.get(2)).data());
    f.network.checkNoViolations();
  }

  @Test
  void disconnectLosesInFlightMessagesAndResetsBothEnds() {
    Link link = f.connect();
    link.client().send(ack(1));
    link.server().send(ack(2));
    assertEquals(1, faults.disconnect("replica", "primary"));

    assertFalse(link.client().isOpen());
    assertFalse(link.server().isOpen());
    f.scheduler.runUntilIdle();
    assertEquals(List.of("closed IOException"), link.clientSide().events);
    assertEquals(List.of("closed IOException"), link.serverSide().events);
    assertTrue(link.clientSide().closedCause.getMessage().contains("disconnect"));
    assertEquals(0, f.network.openConnectionCount());

    // A disconnect is not a partition: the engine may reconnect at once.
    CompletableFuture<Connection> again =
        f.primary.connect(link.listener().endpoint(), KERBEROS, new Recorder("again"));
    f.scheduler.runUntilIdle();
    assertTrue(again.join().isOpen());
  }

  @Test
  void disconnectResetsAConnectionThatIsStillDrainingAfterAnOrderlyClose() {
    Link link = f.connect();
    faults.delay("primary", "replica", Duration.ofMillis(10));
    link.client().send(ack(1));
    link.client().close();
    assertEquals(1, faults.disconnect("primary", "replica"));
    f.scheduler.advance(Duration.ofMillis(10));
    assertEquals(List.of("closed orderly"), link.clientSide().events);
    assertEquals(List.of("closed IOException"), link.serverSide().events);
  }

  @Test
  void disconnectLeavesOtherHostsAlone() {
    Link link = f.connect();
    assertEquals(0, faults.disconnect("primary", "other"));
    link.client().send(ack(1));
    f.scheduler.runUntilIdle();
    assertEquals(List.of(1L), link.serverSide().ackedCycles());
  }

  @Test
  void aPartitionResetsConnectionsAndRefusesNewOnesUntilHealed() {
    Link link = f.connect();
    link.client().send(ack(1));
    faults.partition("replica", "primary");
    f.scheduler.runUntilIdle();
    assertTrue(link.serverSide().messages.isEmpty());
    assertInstanceOf(IOException.class, link.serverSide().closedCause);
    assertInstanceOf(IOException.class, link.clientSide().closedCause);

    CompletableFuture<Connection> refused =
        f.primary.connect(link.listener().endpoint(), KERBEROS, new Recorder("refused"));
    f.scheduler.runUntilIdle();
    Throwable cause = InMemoryNetworkConnectTest.failure(refused);
    assertInstanceOf(ConnectException.class, cause);
    assertTrue(cause.getMessage().contains("partitioned"), cause.getMessage());

    faults.heal("PRIMARY", "replica");
    CompletableFuture<Connection> healed =
        f.primary.connect(link.listener().endpoint(), KERBEROS, new Recorder("healed"));
    f.scheduler.runUntilIdle();
    assertTrue(healed.join().isOpen());
  }

  @Test
  void healWithoutArgumentsEndsEveryPartition() {
    Recorder server = new Recorder("server");
    var listener = f.listen(f.replica, "replica", server);
    faults.partition("primary", "replica");
    faults.partition("other", "replica");
    faults.heal();
    CompletableFuture<Connection> future =
        f.primary.connect(listener.endpoint(), KERBEROS, new Recorder("client"));
    f.scheduler.runUntilIdle();
    assertTrue(future.join().isOpen());
  }

  @Test
  void aCrashedHostLosesItsConnectionsListenersAndTransport() throws Exception {
    Link link = f.connect();
    link.client().send(ack(1));
    assertEquals(1, faults.crash("replica"));
    f.scheduler.runUntilIdle();
    assertEquals(List.of("closed IOException"), link.clientSide().events);
    assertTrue(link.clientSide().closedCause.getMessage().contains("crashed"));
    assertTrue(link.serverSide().messages.isEmpty());

    CompletableFuture<Connection> refused =
        f.primary.connect(link.listener().endpoint(), KERBEROS, new Recorder("refused"));
    f.scheduler.runUntilIdle();
    assertInstanceOf(ConnectException.class, InMemoryNetworkConnectTest.failure(refused));

    var restarted = f.network.transport("replica");
    assertNotSame(f.replica, restarted);
    restarted.listen(link.listener().endpoint(), io.replica.api.AuthenticationType.KERBEROS,
        c -> new Recorder("server"));
    CompletableFuture<Connection> again =
        f.primary.connect(link.listener().endpoint(), KERBEROS, new Recorder("again"));
    f.scheduler.runUntilIdle();
    assertTrue(again.join().isOpen());
  }

  @Test
  void payloadBytesAreCountedPerDirection() {
    Link link = f.connect();
    link.client().send(block(0, new byte[4096]));
    link.client().send(block(4096, new byte[512]));
    link.client().send(ack(1));
    link.server().send(ack(1));
    f.scheduler.runUntilIdle();
    assertEquals(4608, f.network.payloadBytesSent("primary", "replica"));
    assertEquals(3, f.network.messagesSent("Primary", "Replica"));
    assertEquals(0, f.network.payloadBytesSent("replica", "primary"));
    assertEquals(1, f.network.messagesSent("replica", "primary"));
    assertEquals(0, f.network.messagesSent("nobody", "replica"));
  }

  @Test
  void faultsRejectMeaninglessArguments() {
    assertThrows(IllegalArgumentException.class, () -> faults.dropNext("a", "b", -1));
    assertThrows(IllegalArgumentException.class, () -> faults.duplicateNext("a", "b", -1));
    assertThrows(IllegalArgumentException.class, () -> faults.corruptNext("a", "b", -1));
    assertThrows(IllegalArgumentException.class,
        () -> faults.delay("a", "b", Duration.ofMillis(-1)));
    assertThrows(IllegalArgumentException.class, () -> faults.delayAll(Duration.ofMillis(-1)));
    assertThrows(IllegalArgumentException.class, () -> faults.partition("a", "A"));
    assertThrows(IllegalArgumentException.class, () -> faults.dropNext(" ", "b", 1));
    assertThrows(NullPointerException.class, () -> faults.dropNext(null, "b", 1));
    assertThrows(NullPointerException.class, () -> faults.dropMatching(null));
    assertThrows(NullPointerException.class, () -> faults.delay("a", "b", null));
  }

  @Test
  void armingZeroMessagesChangesNothing() {
    Link link = f.connect();
    faults.dropNext("primary", "replica", 0);
    faults.duplicateNext("primary", "replica", 0);
    faults.corruptNext("primary", "replica", 0);
    link.client().send(block(0, bytes(2, 5)));
    f.scheduler.runUntilIdle();
    assertEquals(1, link.serverSide().messages.size());
    assertArrayEquals(bytes(2, 5), ((Message.BlockData) link.serverSide().messages.get(0)).data());
  }

  @Test
  void aRunIsAFunctionOfTheTestsCalls() {
    assertEquals(runScript(), runScript());
  }

  /** A script with every kind of fault; returns what both sides saw and when. */
  private static List<String> runScript() {
    NetworkFixture f = new NetworkFixture(2000);
    Link link = f.connect();
    List<String> trace = new java.util.ArrayList<>();
    f.network.faults().delay("primary", "replica", Duration.ofMillis(3));
    f.network.faults().duplicateNext("replica", "primary", 2);
    f.network.faults().dropNext("primary", "replica", 1, m -> m instanceof Message.BlockData);
    for (int i = 0; i < 20; i++) {
      link.client().send(block(i, bytes(300, i)));
      link.server().send(ack(i));
      f.scheduler.advance(Duration.ofMillis(1));
      trace.add(f.clock.instant() + " " + link.serverSide().messages.size() + "/"
          + link.clientSide().messages.size() + " writable=" + link.client().isWritable());
    }
    f.network.faults().disconnect("primary", "replica");
    f.scheduler.advance(Duration.ofMillis(5));
    trace.addAll(link.serverSide().events);
    trace.addAll(link.clientSide().events);
    trace.add(String.valueOf(Instant.EPOCH.plusNanos(f.clock.nanoTime())));
    return trace;
  }
}
