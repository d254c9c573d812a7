package io.replica.testkit.memory;

import io.replica.spi.transport.Message;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;

/**
 * The faults a test injects into an {@link InMemoryNetwork} while a run goes on: delay, drop,
 * duplicate and corrupt messages on a link, reset the connections between two hosts, crash a
 * host's network stack, or cut two hosts apart until healed. Get it from {@link InMemoryNetwork#faults()}.
 *
 * <p>Faults are deterministic: they act on the next messages a host sends, in the order it sends
 * them, never at random; a simulation draws its faults from a seeded plan and calls these methods.
 * A link is a direction, {@code fromHost} to {@code toHost}, by host name (case does not matter),
 * and covers every connection between the two hosts in that direction, whichever side connected.
 * A fault acts on messages sent after it was set; messages already in flight are affected only by
 * {@link #disconnect} and {@link #partition}.
 *
 * <p>When several faults apply to one message they act in this order: a drop rule (the first
 * armed one that matches, in the order they were set) removes the message and nothing else
 * applies; otherwise a duplicate and a corruption are taken if armed, and the message and its
 * duplicate travel with the link's delay.
 *
 * <p>Thread-safe; the state is guarded by the network's lock. Predicates run under that lock, so
 * they must be quick, pure and must not call the network.
 */
public final class NetworkFaults {
  private final InMemoryNetwork network;

  // Guarded by network.lock.
  private final Map<HostLink, Duration> delays = new HashMap<>();
  private Duration defaultDelay = Duration.ZERO;
  private final List<DropRule> dropRules = new ArrayList<>();
  private final Map<HostLink, Integer> duplicates = new HashMap<>();
  private final Map<HostLink, Integer> reorders = new HashMap<>();
  private final Map<HostLink, Integer> corruptions = new HashMap<>();
  private final Set<HostLink> partitions = new LinkedHashSet<>();

  NetworkFaults(InMemoryNetwork network) {
    this.network = network;
  }

  /**
   * Adds {@code delay} to the delivery of every message sent from {@code fromHost} to
   * {@code toHost} from now on, in place of the delay of {@link #delayAll}; {@link Duration#ZERO}
   * removes the extra delay. Order is kept: a message never overtakes one sent before it on the
   * same connection, even when the delay shrinks (it waits, as in TCP).
   *
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if a host is blank or {@code delay} negative
   */
  public void delay(String fromHost, String toHost, Duration delay) {
    HostLink link = link(fromHost, toHost);
    checkDelay(delay);
    synchronized (network.lock) {
      delays.put(link, delay);
    }
  }

  /**
   * Adds {@code delay} to the delivery of every message on every link that has no delay of its
   * own (see {@link #delay}); {@link Duration#ZERO} removes it.
   *
   * @throws NullPointerException if {@code delay} is null
   * @throws IllegalArgumentException if {@code delay} is negative
   */
  public void delayAll(Duration delay) {
    checkDelay(delay);
    synchronized (network.lock) {
      defaultDelay = delay;
    }
  }

  /**
   * Drops the next {@code count} messages sent from {@code fromHost} to {@code toHost}: they
   * vanish without a trace, and {@code send} still succeeds, as with a lost frame the transport
   * did not notice. The engine must detect the gap (a cycle's counts and checksum do not match).
   *
   * @throws NullPointerException if a host is null
   * @throws IllegalArgumentException if a host is blank or {@code count} negative
   */
  public void dropNext(String fromHost, String toHost, int count) {
    dropNext(fromHost, toHost, count, message -> true);
  }

  /**
   * Drops the next {@code count} messages from {@code fromHost} to {@code toHost} that match
   * {@code filter}, for example the next acknowledgement:
   * {@code dropNext("replica", "primary", 1, m -> m instanceof Message.CycleAck)}.
   *
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if a host is blank or {@code count} negative
   */
  public void dropNext(
      String fromHost, String toHost, int count, Predicate<? super Message> filter) {
    HostLink link = link(fromHost, toHost);
    Objects.requireNonNull(filter, "filter");
    checkCount(count, "drop");
    if (count == 0) {
      return;
    }
    synchronized (network.lock) {
      dropRules.add(new DropRule(link, filter, count));
    }
  }

  /**
   * Drops every message from {@code fromHost} to {@code toHost} that matches {@code filter} until
   * {@link #clear()}.
   *
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if a host is blank
   */
  public void dropMatching(String fromHost, String toHost, Predicate<? super Message> filter) {
    HostLink link = link(fromHost, toHost);
    Objects.requireNonNull(filter, "filter");
    synchronized (network.lock) {
      dropRules.add(new DropRule(link, filter, Long.MAX_VALUE));
    }
  }

  /**
   * Drops every message on any link that matches {@code filter} until {@link #clear()}, for
   * example every {@code Message.CycleAck}.
   *
   * @throws NullPointerException if {@code filter} is null
   */
  public void dropMatching(Predicate<? super Message> filter) {
    Objects.requireNonNull(filter, "filter");
    synchronized (network.lock) {
      dropRules.add(new DropRule(null, filter, Long.MAX_VALUE));
    }
  }

  /**
   * Delivers each of the next {@code count} messages from {@code fromHost} to {@code toHost}
   * twice, the copy right after the original; the engine must ignore the second (cycles are
   * applied exactly once). Adds to any count already armed.
   *
   * @throws NullPointerException if a host is null
   * @throws IllegalArgumentException if a host is blank or {@code count} negative
   */
  public void duplicateNext(String fromHost, String toHost, int count) {
    HostLink link = link(fromHost, toHost);
    checkCount(count, "duplicate");
    if (count == 0) {
      return;
    }
    synchronized (network.lock) {
      duplicates.merge(link, count, NetworkFaults::saturatedAdd);
    }
  }

  /**
   * Swaps each of the next {@code count} messages from {@code fromHost} to {@code toHost} with the
   * message sent after it, as a network that does not keep order would; a held message whose
   * successor never comes is lost when the connection closes. The engine must notice and never
   * apply a cycle out of order. Adds to any count already armed.
   *
   * @throws NullPointerException if a host is null
   * @throws IllegalArgumentException if a host is blank or {@code count} negative
   */
  public void reorderNext(String fromHost, String toHost, int count) {
    HostLink link = link(fromHost, toHost);
    checkCount(count, "reorder");
    if (count == 0) {
      return;
    }
    synchronized (network.lock) {
      reorders.merge(link, count, NetworkFaults::saturatedAdd);
    }
  }

  /**
   * Corrupts the next {@code count} block messages ({@link Message.BlockData} with a non-empty
   * payload) from {@code fromHost} to {@code toHost}: the receiver gets the first payload byte
   * with every bit inverted, as if a frame were damaged past its checksum. The engine must catch
   * it with the cycle's CRC-32C and never apply the cycle. Adds to any count already armed.
   *
   * @throws NullPointerException if a host is null
   * @throws IllegalArgumentException if a host is blank or {@code count} negative
   */
  public void corruptNext(String fromHost, String toHost, int count) {
    HostLink link = link(fromHost, toHost);
    checkCount(count, "corrupt");
    if (count == 0) {
      return;
    }
    synchronized (network.lock) {
      corruptions.merge(link, count, NetworkFaults::saturatedAdd);
    }
  }

  /**
   * Resets every connection between {@code hostA} and {@code hostB} now, whichever side opened
   * it: messages in flight both ways are lost, and each end gets
   * {@link io.replica.spi.transport.MessageHandler#onClosed} with an {@link java.io.IOException}.
   * New connections may be opened at once (see {@link #partition} to refuse them).
   *
   * @return how many connections were reset
   * @throws NullPointerException if a host is null
   * @throws IllegalArgumentException if a host is blank
   */
  public int disconnect(String hostA, String hostB) {
    HostLink pair = link(hostA, hostB);
    return network.reset(pair.from(), pair.to(),
        "injected disconnect fault (NetworkFaults.disconnect); in-flight messages were lost");
  }

  /**
   * Crashes {@code host}'s network stack now: every connection of the host is reset as by
   * {@link #disconnect} (its peers get an {@link java.io.IOException}; so do the host's own
   * handlers, whose engine the test is about to throw away), and its listeners and transport close
   * without further notice. {@link InMemoryNetwork#transport(String)} then gives the restarted host
   * a fresh transport; until it listens again, connecting to it is refused.
   *
   * @return how many connections were reset
   * @throws NullPointerException if {@code host} is null
   * @throws IllegalArgumentException if {@code host} is blank
   */
  public int crash(String host) {
    String name = HostLink.hostName(host, "host");
    return network.crash(name,
        "host '" + name + "' crashed (injected fault, NetworkFaults.crash); in-flight messages"
            + " were lost");
  }

  /**
   * Cuts {@code hostA} and {@code hostB} apart until {@link #heal(String, String)} or
   * {@link #heal()}: their connections are reset as by {@link #disconnect}, and new connections
   * between them fail with a {@link java.net.ConnectException} (a timeout, reported at once).
   *
   * @throws NullPointerException if a host is null
   * @throws IllegalArgumentException if a host is blank or both are the same host
   */
  public void partition(String hostA, String hostB) {
    HostLink pair = link(hostA, hostB);
    if (pair.from().equals(pair.to())) {
      throw new IllegalArgumentException(
          "cannot partition host '" + pair.from() + "' from itself; name two different hosts");
    }
    synchronized (network.lock) {
      partitions.add(pair.unordered());
    }
    network.reset(pair.from(), pair.to(),
        "hosts were partitioned (injected fault; NetworkFaults.heal ends it); in-flight"
            + " messages were lost");
  }

  /**
   * Ends the partition between {@code hostA} and {@code hostB}, if any: they may connect again
   * (the engine reconnects on its own).
   *
   * @throws NullPointerException if a host is null
   * @throws IllegalArgumentException if a host is blank
   */
  public void heal(String hostA, String hostB) {
    HostLink pair = link(hostA, hostB).unordered();
    synchronized (network.lock) {
      partitions.remove(pair);
    }
  }

  /** Ends every partition. */
  public void heal() {
    synchronized (network.lock) {
      partitions.clear();
    }
  }

  /**
   * Ends the counted faults armed on the link from {@code fromHost} to {@code toHost} that have not
   * been used up: the rest of each {@link #dropNext}, {@link #duplicateNext}, {@link #reorderNext}
   * and {@link #corruptNext}. A burst of loss on a real link ends after a while, whether or not
   * anything was sent during it; rules of {@link #dropMatching}, delays and partitions stay.
   *
   * @throws NullPointerException if a host is null
   * @throws IllegalArgumentException if a host is blank
   */
  public void disarm(String fromHost, String toHost) {
    HostLink link = link(fromHost, toHost);
    synchronized (network.lock) {
      dropRules.removeIf(rule -> link.equals(rule.link) && rule.remaining != Long.MAX_VALUE);
      duplicates.remove(link);
      reorders.remove(link);
      corruptions.remove(link);
    }
  }

  /**
   * Removes every fault: delays, drop rules, armed duplicates and corruptions, and partitions.
   * Messages already delayed keep their delay; connections already reset stay closed.
   */
  public void clear() {
    synchronized (network.lock) {
      delays.clear();
      defaultDelay = Duration.ZERO;
      dropRules.clear();
      duplicates.clear();
      reorders.clear();
      corruptions.clear();
      partitions.clear();
    }
  }

  // Called by the network with its lock held.

  Duration delay(HostLink link) {
    Duration own = delays.get(link);
    return own != null ? own : defaultDelay;
  }

  boolean takeDrop(HostLink link, Message message) {
    for (Iterator<DropRule> it = dropRules.iterator(); it.hasNext(); ) {
      DropRule rule = it.next();
      if ((rule.link == null || rule.link.equals(link)) && rule.filter.test(message)) {
        if (rule.remaining != Long.MAX_VALUE && --rule.remaining == 0) {
          it.remove();
        }
        return true;
      }
    }
    return false;
  }

  boolean takeDuplicate(HostLink link) {
    return take(duplicates, link);
  }

  boolean takeReorder(HostLink link) {
    return take(reorders, link);
  }

  boolean takeCorruption(HostLink link) {
    return take(corruptions, link);
  }

  boolean partitioned(String a, String b) {
    return !partitions.isEmpty() && partitions.contains(new HostLink(a, b).unordered());
  }

  private static boolean take(Map<HostLink, Integer> armed, HostLink link) {
    Integer remaining = armed.get(link);
    if (remaining == null) {
      return false;
    }
    if (remaining <= 1) {
      armed.remove(link);
    } else {
      armed.put(link, remaining - 1);
    }
    return true;
  }

  private static HostLink link(String fromHost, String toHost) {
    return new HostLink(
        HostLink.hostName(fromHost, "fromHost"), HostLink.hostName(toHost, "toHost"));
  }

  private static void checkDelay(Duration delay) {
    Objects.requireNonNull(delay, "delay");
    if (delay.isNegative()) {
      throw new IllegalArgumentException(
          "delay " + delay + " is negative; pass zero (no delay) or a positive duration");
    }
  }

  private static void checkCount(int count, String what) {
    if (count < 0) {
      throw new IllegalArgumentException(
          "cannot " + what + " the next " + count + " messages; pass zero or a positive count");
    }
  }

  private static int saturatedAdd(int a, int b) {
    long sum = (long) a + b;
    return sum > Integer.MAX_VALUE ? Integer.MAX_VALUE : (int) sum;
  }

  /** Drops matching messages on one link (or all, if {@code link} is null) while armed. */
  private static final class DropRule {
    final @Nullable HostLink link;
    final Predicate<? super Message> filter;
    long remaining;

    DropRule(@Nullable HostLink link, Predicate<? super Message> filter, long remaining) {
      this.link = link;
      this.filter = filter;
      this.remaining = remaining;
    }
  }

  @Override
  public String toString() {
    synchronized (network.lock) {
      return "NetworkFaults[delays=" + delays + ", default delay=" + defaultDelay + ", "
          + dropRules.size() + " drop rules, duplicates=" + duplicates + ", corruptions="
          + corruptions + ", partitions=" + partitions + "]";
    }
  }
}
