package io.replica.api;

import java.util.Set;
import java.util.stream.Collectors;

/**
 * An operation was asked of a relationship in a state that does not allow it; nothing changed.
 */
public class WrongStateException extends ReplicaException {
  private static final long serialVersionUID = 1L;

  private final VmId vm;
  private final ReplicationState state;
  private final Set<ReplicationState> allowed;

  /**
   * For {@code operation} on {@code vm}, which is in {@code state} where {@code allowed} would do.
   */
  public WrongStateException(String operation, VmId vm, ReplicationState state,
      Set<ReplicationState> allowed) {
    super(operation + " is not possible for virtual machine " + vm + " in state " + state
        + "; allowed in " + allowed.stream().map(Enum::name).sorted()
            .collect(Collectors.joining(", ")));
    this.vm = vm;
    this.state = state;
    this.allowed = Set.copyOf(allowed);
  }

  /** A failure whose {@code message} already names the machine, the state and what is allowed. */
  public WrongStateException(VmId vm, ReplicationState state, Set<ReplicationState> allowed,
      String message) {
    super(message);
    this.vm = vm;
    this.state = state;
    this.allowed = Set.copyOf(allowed);
  }

  /** The machine. */
  public VmId vm() {
    return vm;
  }

  /** The state it was in. */
  public ReplicationState state() {
    return state;
  }

  /** The states in which the operation is allowed. */
  public Set<ReplicationState> allowed() {
    return allowed;
  }
}
