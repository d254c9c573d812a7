package io.replica.testkit.memory;

import io.replica.spi.storage.StorageProvider;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.TreeMap;
import java.util.random.RandomGenerator;

/**
 * The storage of one simulated host: any non-blank location string names an
 * {@link InMemoryStorageLocation}, made on first use and the same instance on every later call, so
 * an engine restarted on the same provider finds its disks again. Crashing the provider crashes
 * every location, as a power loss of the host would. Safe for concurrent use.
 */
public final class InMemoryStorageProvider implements StorageProvider {

  private final TreeMap<String, InMemoryStorageLocation> locations = new TreeMap<>();

  /** A provider with no locations yet. */
  public InMemoryStorageProvider() {}

  /**
   * The location named {@code location}, made empty if it is new.
   *
   * @throws IOException if {@code location} is blank: no real volume has that name either
   */
  @Override
  public InMemoryStorageLocation open(String location) throws IOException {
    Objects.requireNonNull(location, "location");
    if (location.isBlank()) {
      throw new IOException(
          "storage location '" + location + "' is blank; name a location (any non-blank text)");
    }
    return location(location);
  }

  /**
   * Like {@link #open(String)}, without the checked exception, for test code that sets up or
   * inspects a location.
   *
   * @throws IllegalArgumentException if {@code location} is blank
   */
  public InMemoryStorageLocation location(String location) {
    Objects.requireNonNull(location, "location");
    if (location.isBlank()) {
      throw new IllegalArgumentException(
          "storage location '" + location + "' is blank; name a location (any non-blank text)");
    }
    synchronized (locations) {
      return locations.computeIfAbsent(location, InMemoryStorageLocation::new);
    }
  }

  /** The location strings opened so far, sorted. */
  public List<String> locationNames() {
    synchronized (locations) {
      return List.copyOf(locations.keySet());
    }
  }

  /** Simulates a crash of the host: every location crashes (see {@link InMemoryStorageLocation}). */
  public void simulateCrash() {
    for (InMemoryStorageLocation location : snapshot()) {
      location.simulateCrash();
    }
  }

  /** Like {@link #simulateCrash()} with torn writes from {@code torn}, locations in name order. */
  public void simulateCrash(RandomGenerator torn) {
    Objects.requireNonNull(torn, "torn");
    for (InMemoryStorageLocation location : snapshot()) {
      location.simulateCrash(torn);
    }
  }

  /**
   * Checks that every handle of every location was closed.
   *
   * @throws IllegalStateException listing each open handle, with the stacks that opened them
   */
  public void checkNoOpenHandles() {
    List<StorageLeaks.OpenedAt> openings = new ArrayList<>();
    for (InMemoryStorageLocation location : snapshot()) {
      openings.addAll(location.openings());
    }
    StorageLeaks.check("in-memory storage provider " + locationNames(), openings);
  }

  @Override
  public String toString() {
    return "InMemoryStorageProvider" + locationNames();
  }

  private List<InMemoryStorageLocation> snapshot() {
    synchronized (locations) {
      return new ArrayList<>(locations.values());
    }
  }
}
