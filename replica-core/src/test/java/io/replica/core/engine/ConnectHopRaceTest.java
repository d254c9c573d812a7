package io.replica.core.engine;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replica.api.AuthenticationType;
import io.replica.api.DiskId;
import io.replica.api.ReplicaServerSettings;
import io.replica.api.ReplicationManager;
import io.replica.api.VirtualMachine;
import io.replica.api.VmDisk;
import io.replica.api.VmId;
import io.replica.api.event.ReplicationEvent;
import io.replica.core.ReplicaEngine;
import io.replica.spi.storage.DiskSpec;
import io.replica.spi.time.Cancellable;
import io.replica.spi.time.Scheduler;
import io.replica.spi.transport.ConnectOptions;
import io.replica.spi.transport.Connection;
import io.replica.spi.transport.Endpoint;
import io.replica.spi.transport.MessageHandler;
import io.replica.spi.transport.Transport;
import io.replica.testkit.memory.InMemoryNetwork;
import io.replica.testkit.memory.InMemoryStorageProvider;
import io.replica.testkit.memory.InMemoryVirtualDisk;
import io.replica.testkit.time.ManualClock;
import io.replica.testkit.time.ManualScheduler;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * On a scheduler with several threads, the task a completed connect hops onto and the task that
 * handles the connection's close may run in either order. A close handled first must not be lost.
 */
class ConnectHopRaceTest {
  private static final Duration CYCLE = Duration.ofSeconds(30);

  /** Holds the tasks submitted while {@link #holding}: they run later, as on a busy pool thread. */
  static final class HoldingScheduler implements Scheduler {
    final ManualScheduler inner;
    boolean holding;
    final List<Runnable> held = new ArrayList<>();

    HoldingScheduler(ManualScheduler inner) {
      this.inner = inner;
    }

    @Override
    public void execute(Runnable task) {
      if (holding) {
        held.add(task);
      } else {
        inner.execute(task);
      }
    }

    @Override
    public Cancellable schedule(Runnable task, Duration delay) {
      return inner.schedule(task, delay);
    }

    void release() {
      held.forEach(inner::execute);
      held.clear();
    }
  }

  /** Completes one armed connect while the scheduler holds what the completion submits. */
  static final class RacingTransport implements Transport {
    final Transport delegate;
    final HoldingScheduler scheduler;
    boolean armed;
    Connection raced;

    RacingTransport(Transport delegate, HoldingScheduler scheduler) {
      this.delegate = delegate;
      this.scheduler = scheduler;
    }

    @Override
    public Set<AuthenticationType> authenticationTypes() {
      return delegate.authenticationTypes();
    }

    @Override
    public boolean supportsCompression() {
      return delegate.supportsCompression();
    }

    @Override
    public Listener listen(Endpoint local, AuthenticationType authentication,
        Function<Connection, MessageHandler> handlers) throws IOException {
      return delegate.listen(local, authentication, handlers);
    }

    @Override
    public CompletableFuture<Connection> connect(Endpoint remote, ConnectOptions options, MessageHandler handler) {
      CompletableFuture<Connection> out = new CompletableFuture<>();
      delegate.connect(remote, options, handler).whenComplete((c, e) -> {
        if (e != null) {
          out.completeExceptionally(e);
        } else if (armed) {
          armed = false;
          raced = c;
          scheduler.holding = true;
          out.complete(c);
          scheduler.holding = false;
        } else {
          out.complete(c);
        }
      });
      return out;
    }

    @Override
    public void close() {
      delegate.close();
    }
  }

  @Test
  void aConnectionOpenedJustBeforeTheEngineClosesIsClosed() throws Exception {
    ManualClock clock = new ManualClock(Instant.parse("2026-01-01T00:00:00Z"));
    ManualScheduler manual = new ManualScheduler(clock);
    InMemoryNetwork network = new InMemoryNetwork(manual);
    HoldingScheduler holding = new HoldingScheduler(manual);
    RacingTransport racing = new RacingTransport(network.transport(TwoHosts.PRIMARY), holding);
    ReplicationManager replica = ReplicaEngine.builder().hostName(TwoHosts.REPLICA).clock(clock).scheduler(manual)
        .transport(network.transport(TwoHosts.REPLICA)).storage(new InMemoryStorageProvider()).build();
    replica.setReplicaServerSettings(ReplicaServerSettings.builder()
        .allowedAuthenticationTypes(Set.of(AuthenticationType.KERBEROS))
        .allowAnyAuthenticatedServer(TwoHosts.LOCATION).build());
    ReplicationManager primary = ReplicaEngine.builder().hostName(TwoHosts.PRIMARY).clock(clock).scheduler(holding)
        .transport(racing).storage(new InMemoryStorageProvider()).build();
    try {
      InMemoryVirtualDisk disk = InMemoryVirtualDisk.create(DiskSpec.dynamic(4L << 20));
      VmDisk vd = new VmDisk(DiskId.of(UUID.nameUUIDFromBytes("d".getBytes())), disk, true);
      VirtualMachine vm = new VirtualMachine(VmId.of(UUID.nameUUIDFromBytes("vm".getBytes())), "closing", List.of(vd));
      CompletableFuture<Void> enabled = primary.enableReplication(vm,
          TwoHosts.settings().replicationFrequency(CYCLE).build());
      manual.runUntilIdle();
      enabled.join();

      racing.armed = true;
      network.faults().disconnect(TwoHosts.PRIMARY, TwoHosts.REPLICA);
      manual.advance(Duration.ofSeconds(1)); // the link reconnects after one second
      assertNotNull(racing.raced, "the link reconnected");
      primary.close(); // before the connect callback had its turn
      holding.release();
      manual.runUntilIdle();
      assertTrue(!racing.raced.isOpen(), "the closed engine's new connection was closed");
    } finally {
      primary.close();
      replica.close();
      manual.runUntilIdle();
    }
  }

  @Test
  void aConnectionClosedBeforeItsConnectCallbackRanIsNoticedAndReplaced() throws Exception {
    ManualClock clock = new ManualClock(Instant.parse("2026-01-01T00:00:00Z"));
    ManualScheduler manual = new ManualScheduler(clock);
    InMemoryNetwork network = new InMemoryNetwork(manual);
    HoldingScheduler holding = new HoldingScheduler(manual);
    RacingTransport racing = new RacingTransport(network.transport(TwoHosts.PRIMARY), holding);
    List<ReplicationEvent> events = new CopyOnWriteArrayList<>();
    ReplicationManager replica = ReplicaEngine.builder().hostName(TwoHosts.REPLICA).clock(clock).scheduler(manual)
        .transport(network.transport(TwoHosts.REPLICA)).storage(new InMemoryStorageProvider()).build();
    replica.setReplicaServerSettings(ReplicaServerSettings.builder()
        .allowedAuthenticationTypes(Set.of(AuthenticationType.KERBEROS))
        .allowAnyAuthenticatedServer(TwoHosts.LOCATION).build());
    ReplicationManager primary = ReplicaEngine.builder().hostName(TwoHosts.PRIMARY).clock(clock).scheduler(holding)
        .transport(racing).storage(new InMemoryStorageProvider()).build();
    primary.addListener(events::add);
    try {
      InMemoryVirtualDisk disk = InMemoryVirtualDisk.create(DiskSpec.dynamic(4L << 20));
      VmDisk vd = new VmDisk(DiskId.of(UUID.nameUUIDFromBytes("d".getBytes())), disk, true);
      VirtualMachine vm = new VirtualMachine(VmId.of(UUID.nameUUIDFromBytes("vm".getBytes())), "raced", List.of(vd));
      CompletableFuture<Void> enabled = primary.enableReplication(vm,
          TwoHosts.settings().replicationFrequency(CYCLE).build());
      manual.runUntilIdle();
      enabled.join();
      CompletableFuture<Void> initial = primary.startInitialReplication(vm.id());
      manual.runUntilIdle();
      initial.join();

      racing.armed = true;
      network.faults().disconnect(TwoHosts.PRIMARY, TwoHosts.REPLICA);
      manual.advance(Duration.ofSeconds(1)); // the link reconnects after one second
      assertNotNull(racing.raced, "the link reconnected");
      // The new connection breaks; its close is handled before the connect callback runs.
      network.faults().disconnect(TwoHosts.PRIMARY, TwoHosts.REPLICA);
      manual.runUntilIdle();
      holding.release();
      manual.runUntilIdle();

      primary.changeTracker(vm.id()).trackedDisk(vd.id()).write(0, ByteBuffer.wrap(new byte[4096]));
      int seen = events.size();
      manual.advance(CYCLE.plus(Duration.ofSeconds(15)));
      assertTrue(events.subList(seen, events.size()).stream().anyMatch(e -> e instanceof ReplicationEvent.CycleCompleted),
          "the link noticed the closed connection, reconnected, and a cycle completed; events "
              + events.subList(seen, events.size()));
    } finally {
      primary.close();
      replica.close();
      manual.runUntilIdle();
    }
  }
}
