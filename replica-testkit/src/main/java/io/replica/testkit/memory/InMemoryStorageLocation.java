package io.replica.testkit.memory;

import io.replica.spi.storage.StorageLocation;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * One in-memory storage location: an {@link InMemoryDiskStore} and an {@link InMemoryStateStore}
 * that crash together, as the disks and documents on one volume of a replica server do.
 */
public final class InMemoryStorageLocation implements StorageLocation {

  private final String name;
  private final InMemoryDiskStore disks;
  private final InMemoryStateStore state;

  /** An empty location called "memory" in messages. */
  public InMemoryStorageLocation() {
    this("memory");
  }

  /**
   * An empty location; {@code name} only appears in messages.
   *
   * @throws NullPointerException if {@code name} is null
   */
  public InMemoryStorageLocation(String name) {
    this.name = Objects.requireNonNull(name, "name");
    this.disks = new InMemoryDiskStore("disk store of location '" + name + "'");
    this.state = new InMemoryStateStore("state store of location '" + name + "'");
  }

  /** The location string it was opened with. */
  public String name() {
    return name;
  }

  @Override
  public InMemoryDiskStore disks() {
    return disks;
  }

  @Override
  public InMemoryStateStore state() {
    return state;
  }

  /**
   * Simulates a crash of the host: disks lose unflushed writes, logs lose unsynced appends, and
   * every open handle of either store is closed.
   */
  public void simulateCrash() {
    disks.simulateCrash();
    state.simulateCrash();
  }

  /**
   * Like {@link #simulateCrash()} with torn writes and torn log tails drawn from {@code torn}: the
   * disks first, then the logs.
   */
  public void simulateCrash(RandomGenerator torn) {
    Objects.requireNonNull(torn, "torn");
    disks.simulateCrash(torn);
    state.simulateCrash(torn);
  }

  /**
   * Checks that every disk and log handle of the location was closed.
   *
   * @throws IllegalStateException listing each open handle, with the stacks that opened them
   */
  public void checkNoOpenHandles() {
    StorageLeaks.check("in-memory storage location '" + name + "'", openings());
  }

  List<StorageLeaks.OpenedAt> openings() {
    List<StorageLeaks.OpenedAt> result = new ArrayList<>(disks.openings());
    result.addAll(state.openings());
    return result;
  }

  @Override
  public String toString() {
    return "InMemoryStorageLocation['" + name + "']";
  }
}
