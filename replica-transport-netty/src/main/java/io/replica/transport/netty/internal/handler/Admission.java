package io.replica.transport.netty.internal.handler;

import java.net.InetAddress;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;

/**
 * The bound on connections that have not finished their hello exchange yet, in total and per
 * remote address, and the transport's counters of what it refused. A peer that has proved
 * nothing holds one slot from accept until its hello is admitted or it closes; past the bound a
 * new connection is closed at once, before anything is read from it. With the handshake's small
 * maximum frame, this bounds what unauthenticated peers can make a server buffer.
 */
public final class Admission {
  private final int totalMax;
  private final int perAddressMax;
  private final Map<InetAddress, Integer> perAddress = new HashMap<>();
  private int total;
  private final AtomicLong refused = new AtomicLong();
  private final AtomicLong protocolErrors = new AtomicLong();

  /**
   * @param totalMax unauthenticated connections at once, from everywhere
   * @param perAddressMax unauthenticated connections at once from one address
   */
  public Admission(int totalMax, int perAddressMax) {
    this.totalMax = totalMax;
    this.perAddressMax = perAddressMax;
  }

  /** No bound (for connections this side opens, and for tests of other things). */
  public static Admission unbounded() {
    return new Admission(Integer.MAX_VALUE, Integer.MAX_VALUE);
  }

  /** A slot that frees itself once, whichever of admission or close comes first. */
  public final class Slot {
    private final InetAddress address;
    private final AtomicBoolean held = new AtomicBoolean(true);

    private Slot(InetAddress address) {
      this.address = address;
    }

    /** Frees the slot; later calls do nothing. */
    public void release() {
      if (held.compareAndSet(true, false)) {
        synchronized (Admission.this) {
          total--;
          perAddress.computeIfPresent(address, (a, n) -> n == 1 ? null : n - 1);
        }
      }
    }
  }

  /**
   * A slot for a new connection from {@code address}, or null (counted as refused) when the
   * bound is reached; {@link #refusal} then says which.
   */
  public synchronized @Nullable Slot admit(InetAddress address) {
    int from = perAddress.getOrDefault(address, 0);
    if (total >= totalMax || from >= perAddressMax) {
      refused.incrementAndGet();
      return null;
    }
    total++;
    perAddress.put(address, from + 1);
    return new Slot(address);
  }

  /** Why a connection from {@code address} was just refused, for its decision and log. */
  public synchronized String refusal(InetAddress address) {
    int from = perAddress.getOrDefault(address, 0);
    return from >= perAddressMax
        ? "too many unauthenticated connections from " + address.getHostAddress() + " ("
            + from + ", the most this replica server allows per address; raise"
            + " unauthenticatedConnectionsMax if a NAT hides many primaries)"
        : "too many unauthenticated connections (" + total + ", the most this replica server"
            + " allows at once; raise unauthenticatedConnectionsMax if this is no attack)";
  }

  /** Unauthenticated connections now. */
  public synchronized int unauthenticated() {
    return total;
  }

  /** Connections closed at once because the bound was reached, since the start. */
  public long refused() {
    return refused.get();
  }

  /** Connections closed for a protocol error of the peer, since the start. */
  public long protocolErrors() {
    return protocolErrors.get();
  }

  /** Counts one connection closed for a protocol error of the peer. */
  public void protocolError() {
    protocolErrors.incrementAndGet();
  }

  /** The most unauthenticated connections at once. */
  public int totalMax() {
    return totalMax;
  }

  /** The most unauthenticated connections at once from one address. */
  public int perAddressMax() {
    return perAddressMax;
  }
}
