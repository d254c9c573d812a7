package io.replica.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.EnumSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class WrongStateExceptionTest {

  private static final VmId VM = VmId.parse("3f0c8a34-1b2c-4d5e-8f90-a1b2c3d4e5f6");

  @Test
  void messageNamesOperationVmStateAndAllowedStates() {
    var e = new WrongStateException("planned failover", VM, ReplicationState.ERROR,
        EnumSet.of(ReplicationState.SUSPENDED, ReplicationState.REPLICATING));
    assertEquals("planned failover is not possible for virtual machine 3f0c8a34-1b2c-4d5e-8f90-a1b2c3d4e5f6"
        + " in state ERROR; allowed in REPLICATING, SUSPENDED", e.getMessage());
  }

  @Test
  void allowedStatesAreListedInNameOrderWhateverTheSetOrder() {
    Set<ReplicationState> allowed = Set.of(ReplicationState.SUSPENDED, ReplicationState.FAILED_OVER,
        ReplicationState.REPLICATING, ReplicationState.ERROR);
    var e = new WrongStateException("resume", VM, ReplicationState.READY_FOR_INITIAL_REPLICATION, allowed);
    assertTrue(e.getMessage().startsWith("resume "), e.getMessage());
    assertTrue(e.getMessage().contains("in state READY_FOR_INITIAL_REPLICATION"), e.getMessage());
    assertTrue(e.getMessage().endsWith("allowed in ERROR, FAILED_OVER, REPLICATING, SUSPENDED"), e.getMessage());
  }

  @Test
  void accessors() {
    var allowed = EnumSet.of(ReplicationState.REPLICATING);
    var e = new WrongStateException("suspend", VM, ReplicationState.SUSPENDED, allowed);
    allowed.add(ReplicationState.ERROR);
    assertEquals(VM, e.vm());
    assertEquals(ReplicationState.SUSPENDED, e.state());
    assertEquals(Set.of(ReplicationState.REPLICATING), e.allowed());
    assertThrows(UnsupportedOperationException.class, () -> e.allowed().add(ReplicationState.ERROR));
  }

  @Test
  void preformattedMessageIsKeptAsGiven() {
    String message = "failover of virtual machine " + VM + " needs state PREPARED_FOR_FAILOVER";
    var e = new WrongStateException(VM, ReplicationState.REPLICATING,
        Set.of(ReplicationState.PREPARED_FOR_FAILOVER), message);
    assertEquals(message, e.getMessage());
    assertEquals(VM, e.vm());
    assertEquals(ReplicationState.REPLICATING, e.state());
    assertEquals(Set.of(ReplicationState.PREPARED_FOR_FAILOVER), e.allowed());
  }
}
