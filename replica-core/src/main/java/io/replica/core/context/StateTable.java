package io.replica.core.context;

import static io.replica.api.ReplicationState.ERROR;
import static io.replica.api.ReplicationState.FAILED_OVER;
import static io.replica.api.ReplicationState.FAILOVER_WAITING_COMPLETION;
import static io.replica.api.ReplicationState.PREPARED_FOR_FAILOVER;
import static io.replica.api.ReplicationState.READY_FOR_INITIAL_REPLICATION;
import static io.replica.api.ReplicationState.REPLICATING;
import static io.replica.api.ReplicationState.RESYNCHRONIZE_SUSPENDED;
import static io.replica.api.ReplicationState.RESYNCHRONIZING;
import static io.replica.api.ReplicationState.SUSPENDED;
import static io.replica.api.ReplicationState.WAITING_FOR_INITIAL_REPLICATION;
import static io.replica.api.ReplicationState.WAITING_FOR_START_RESYNCHRONIZE;

import io.replica.api.ReplicationMode;
import io.replica.api.ReplicationState;
import io.replica.api.VmId;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The state changes each role makes, written down as a table: every {@code StateChanged} event a
 * relationship emits with {@code from != to} is one of these. A change outside the table is a
 * bug; the engine logs it as one and goes on (a replication must not stop over its own
 * bookkeeping), and the simulation treats it as a violation.
 */
public final class StateTable {
  private static final Logger LOG = LoggerFactory.getLogger(StateTable.class);

  /** The primary role: initial replication, suspension, resynchronization, planned failover. */
  public static final StateTable PRIMARY = new StateTable(ReplicationMode.PRIMARY, Map.of(
      READY_FOR_INITIAL_REPLICATION, EnumSet.of(WAITING_FOR_INITIAL_REPLICATION, SUSPENDED, REPLICATING, ERROR),
      WAITING_FOR_INITIAL_REPLICATION, EnumSet.of(REPLICATING, SUSPENDED, WAITING_FOR_START_RESYNCHRONIZE, ERROR),
      REPLICATING, EnumSet.of(SUSPENDED, PREPARED_FOR_FAILOVER, RESYNCHRONIZING, WAITING_FOR_START_RESYNCHRONIZE,
          ERROR),
      SUSPENDED, EnumSet.of(REPLICATING, WAITING_FOR_INITIAL_REPLICATION, READY_FOR_INITIAL_REPLICATION, ERROR),
      PREPARED_FOR_FAILOVER, EnumSet.of(REPLICATING, WAITING_FOR_START_RESYNCHRONIZE, ERROR),
      WAITING_FOR_START_RESYNCHRONIZE, EnumSet.of(RESYNCHRONIZING, ERROR),
      RESYNCHRONIZING, EnumSet.of(REPLICATING, RESYNCHRONIZE_SUSPENDED, WAITING_FOR_START_RESYNCHRONIZE, ERROR),
      RESYNCHRONIZE_SUSPENDED, EnumSet.of(RESYNCHRONIZING, REPLICATING, WAITING_FOR_START_RESYNCHRONIZE, ERROR),
      // An accepted relationship that the replica refused on a reconnect can be taken back.
      ERROR, EnumSet.of(REPLICATING, WAITING_FOR_START_RESYNCHRONIZE)));

  /**
   * The replica role: first copy, errors and their repair, failover. The former primary of a
   * planned failover becomes the replica (PREPARED_FOR_FAILOVER to REPLICATING).
   */
  public static final StateTable REPLICA = new StateTable(ReplicationMode.REPLICA, Map.of(
      WAITING_FOR_INITIAL_REPLICATION, EnumSet.of(REPLICATING, ERROR),
      REPLICATING, EnumSet.of(ERROR, FAILOVER_WAITING_COMPLETION, FAILED_OVER),
      ERROR, EnumSet.of(REPLICATING, FAILOVER_WAITING_COMPLETION),
      FAILOVER_WAITING_COMPLETION, EnumSet.of(FAILED_OVER, REPLICATING, ERROR),
      PREPARED_FOR_FAILOVER, EnumSet.of(REPLICATING)));

  private final ReplicationMode mode;
  private final Map<ReplicationState, Set<ReplicationState>> next;

  private StateTable(ReplicationMode mode, Map<ReplicationState, Set<ReplicationState>> next) {
    this.mode = mode;
    this.next = new EnumMap<>(next);
  }

  /** The table of a role: PRIMARY or REPLICA (a test replica has no states of its own). */
  public static StateTable of(ReplicationMode mode) {
    return mode == ReplicationMode.PRIMARY ? PRIMARY : REPLICA;
  }

  /** Whether the role goes from {@code from} to {@code to}; staying in a state is always allowed. */
  public boolean allows(ReplicationState from, ReplicationState to) {
    return from == to || next.getOrDefault(from, Set.of()).contains(to);
  }

  /** Logs a change outside the table as the bug it is; the change itself goes ahead. */
  public void check(VmId vm, ReplicationState from, ReplicationState to, String reason) {
    if (!allows(from, to)) {
      LOG.error("bug: {} of virtual machine {} went from {} to {}, which its state table does not allow ({})",
          mode, vm, from, to, reason);
    }
  }
}
