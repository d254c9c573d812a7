package io.replica.testkit.contract;

import io.replica.spi.time.Scheduler;
import io.replica.spi.transport.Endpoint;
import io.replica.spi.transport.Transport;
import io.replica.testkit.contract.TransportContract;
import io.replica.testkit.memory.InMemoryNetwork;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Runs the T1 rules on the in-memory network's transports, delivering on a real scheduler with
 * two threads (the kit waits for deliveries; a manual scheduler would need the kit to drive it).
 * An in-memory transport binds only endpoints of its own host name.
 */
class InMemoryTransportContractTest extends TransportContract<Transport> {
  private static ScheduledExecutorService executor;
  private static InMemoryNetwork network;

  @BeforeAll
  static void start() {
    executor = Executors.newScheduledThreadPool(2, r -> {
      Thread t = new Thread(r, "in-memory-network");
      t.setDaemon(true);
      return t;
    });
    network = new InMemoryNetwork(Scheduler.of(executor));
  }

  @AfterAll
  static void stop() {
    network.checkNoViolations();
    executor.shutdownNow();
  }

  @Override
  protected Transport createTransport(String hostName) {
    return network.transport(hostName);
  }

  @Override
  protected Endpoint listenEndpoint(String hostName) {
    return new Endpoint(hostName, 0);
  }
}
