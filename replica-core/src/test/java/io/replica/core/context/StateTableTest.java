package io.replica.core.context;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replica.api.ReplicationMode;
import io.replica.api.ReplicationState;
import org.junit.jupiter.api.Test;

/** The tables say what each role does; what they leave out is a bug the simulation reports. */
class StateTableTest {

  @Test
  void aFailedOverReplicaNeverGoesBackAndAPrimaryNeverFailsOver() {
    assertFalse(StateTable.REPLICA.allows(ReplicationState.FAILED_OVER, ReplicationState.REPLICATING));
    assertFalse(StateTable.PRIMARY.allows(ReplicationState.REPLICATING, ReplicationState.FAILED_OVER));
    assertFalse(StateTable.PRIMARY.allows(ReplicationState.READY_FOR_INITIAL_REPLICATION,
        ReplicationState.RESYNCHRONIZING));
  }

  @Test
  void theRolesMainPathsAreAllowedAndStayingPutAlwaysIs() {
    assertTrue(StateTable.PRIMARY.allows(ReplicationState.READY_FOR_INITIAL_REPLICATION,
        ReplicationState.WAITING_FOR_INITIAL_REPLICATION));
    assertTrue(StateTable.PRIMARY.allows(ReplicationState.WAITING_FOR_INITIAL_REPLICATION,
        ReplicationState.REPLICATING));
    assertTrue(StateTable.PRIMARY.allows(ReplicationState.REPLICATING, ReplicationState.PREPARED_FOR_FAILOVER));
    assertTrue(StateTable.REPLICA.allows(ReplicationState.REPLICATING,
        ReplicationState.FAILOVER_WAITING_COMPLETION));
    assertTrue(StateTable.REPLICA.allows(ReplicationState.FAILOVER_WAITING_COMPLETION,
        ReplicationState.FAILED_OVER));
    for (ReplicationState s : ReplicationState.values()) {
      assertTrue(StateTable.PRIMARY.allows(s, s) && StateTable.REPLICA.allows(s, s));
    }
    assertSame(StateTable.PRIMARY, StateTable.of(ReplicationMode.PRIMARY));
    assertSame(StateTable.REPLICA, StateTable.of(ReplicationMode.REPLICA));
  }
}
