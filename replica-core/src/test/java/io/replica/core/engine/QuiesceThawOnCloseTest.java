package io.replica.core.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.replica.api.RecoveryHistory;
import io.replica.api.VirtualMachine;
import io.replica.api.VmId;
import io.replica.spi.consistency.ConsistencyProvider;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** ConsistencyProvider's contract: thaw is called once after every quiesce, whatever happened. */
class QuiesceThawOnCloseTest {

  @Test
  void aQuiesceThatCompletesJustBeforeTheEngineClosesIsThawed() throws Exception {
    int[] quiesced = {0};
    int[] thawed = {0};
    CompletableFuture<Void> pending = new CompletableFuture<>();
    ConsistencyProvider provider = new ConsistencyProvider() {
      @Override
      public CompletableFuture<Void> quiesce(VmId vm) {
        quiesced[0]++;
        return pending; // the guest agent answers later, on its own thread
      }

      @Override
      public void thaw(VmId vm) {
        thawed[0]++;
      }
    };
    try (TwoHosts hosts = new TwoHosts(provider)) {
      VirtualMachine vm = hosts.newVm("frozen", 4L << 20);
      hosts.replicate(vm, TwoHosts.settings().replicationFrequency(Duration.ofSeconds(30))
          .recoveryHistory(new RecoveryHistory(2, Duration.ofMinutes(1), 1)).build());
      for (int i = 0; i < 10 && quiesced[0] == 0; i++) {
        hosts.write(vm, 0, 0, ByteBuffer.allocate(4096).array());
        hosts.scheduler.advance(Duration.ofSeconds(30));
      }
      assertEquals(1, quiesced[0], "an application-consistent point was due");
      pending.complete(null); // the guest is frozen now
      hosts.primary.close(); // the embedder shuts down at that moment
      hosts.scheduler.runUntilIdle();
      assertEquals(quiesced[0], thawed[0], "the quiesced guest was thawed");
    }
  }
}
