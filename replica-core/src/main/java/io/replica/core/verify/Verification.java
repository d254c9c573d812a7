package io.replica.core.verify;

import io.replica.api.ReplicaException;
import io.replica.api.VerificationResult;
import io.replica.api.VmId;
import io.replica.core.context.EngineContext;
import io.replica.core.context.Failures;
import io.replica.core.primary.PrimaryRelationship;
import io.replica.core.testing.Mutation;
import io.replica.core.tracking.BlockSet;
import io.replica.core.tracking.DiskTracker;
import io.replica.spi.time.Cancellable;
import io.replica.spi.transport.Connection;
import io.replica.spi.transport.Message;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * One online verify of a primary's disks against its replica's latest recovery point (DRBD's
 * {@code verify}). Guarded by the engine lock.
 *
 * <p>The primary cannot read its disks at a past cut, but it need not: a block that no guest wrote
 * after the cut of cycle {@code A} reads now as it read at cut {@code A}, and at every later cut.
 * So each pass takes {@code A}, the last acknowledged cycle, and starts watching guest writes
 * ({@link DiskTracker#watchWrites()}: the changes not yet acknowledged, plus every write from then
 * on). The replica answers a {@link Message.VerifyRequest} with hashes of its disk at the cycle it
 * has applied, {@code C}; when {@code C >= A}, each block outside the watched set is compared with
 * the primary's current bytes, read atomically with the check
 * ({@link DiskTracker#readUnwritten}). Watched blocks wait for the next pass, which starts once a
 * later cycle was acknowledged (so that they are no longer pending), up to {@link #PASSES_MAX}.
 *
 * <p>Every block of every disk is compared, allocated or not: unallocated blocks read as zeros on
 * both sides, and a storage whose allocated ranges lie cannot hide a difference.
 */
public final class Verification {
  /** Blocks per request: a 16 KiB answer at 16 bytes a block. */
  static final long REQUEST_BLOCKS = 1024;
  /** Requests kept in flight, so that the replica's hashing and ours overlap. */
  private static final int REQUESTS_AHEAD = 4;
  /** Blocks read from the primary's disk under the tracker's monitor at once, holding guest writes back. */
  private static final int READ_BLOCKS = 64;
  /** Passes over the blocks the guest kept writing before the rest is reported as not compared. */
  static final int PASSES_MAX = 4;
  /** How long before a refused request is asked again. */
  static final Duration RETRY_DELAY = Duration.ofSeconds(5);
  /** Without any answer for this long, the outstanding requests go again (on the current connection). */
  static final Duration ANSWER_TIMEOUT = PrimaryRelationship.ANSWER_TIMEOUT;
  /** Without any progress for this long, the verify gives up. */
  static final Duration PATIENCE = Duration.ofMinutes(15);

  public final CompletableFuture<VerificationResult> result = new CompletableFuture<>();
  private final EngineContext engine;
  private final VmId vm;
  private final List<DiskTracker> disks;
  private final Supplier<@Nullable Connection> connection;
  private final LongSupplier lastAcked;
  private final Consumer<Verification> finished;
  private final BlockHashes hashes = new BlockHashes();

  private final BlockSet[] toCompare;
  private final BlockSet[] skipped;
  private final BlockSet[] written;
  private final BlockSet[] differing;
  private int pass;
  private long passBase;
  private boolean waitingForAck;
  private int diskIndex;
  private BlockSet.@Nullable Cursor cursor;
  private long lookahead = -1;
  private final Map<Long, Request> outstanding = new LinkedHashMap<>();
  private final ArrayDeque<Request> retries = new ArrayDeque<>();
  private @Nullable Cancellable retryTimer;
  private long nextRequest = 1;
  private long comparedBytes;
  private long lastCycle = -1;
  private long progressNanos;
  private long answerNanos;
  private @Nullable String lastRefusal;

  public Verification(EngineContext engine, VmId vm, List<DiskTracker> disks, Supplier<@Nullable Connection> connection,
      LongSupplier lastAcked, Consumer<Verification> finished) {
    this.engine = engine;
    this.vm = vm;
    this.disks = List.copyOf(disks);
    this.connection = connection;
    this.lastAcked = lastAcked;
    this.finished = finished;
    int n = disks.size();
    toCompare = new BlockSet[n];
    skipped = new BlockSet[n];
    written = new BlockSet[n];
    differing = new BlockSet[n];
    for (int i = 0; i < n; i++) {
      DiskTracker d = disks.get(i);
      toCompare[i] = new BlockSet(d.blockCount);
      toCompare[i].addRange(0, d.blockCount);
      differing[i] = new BlockSet(d.blockCount);
    }
  }

  public void start() {
    progressNanos = engine.clock().nanoTime();
    beginPass();
  }

  private void beginPass() {
    pass++;
    passBase = lastAcked.getAsLong();
    for (int i = 0; i < disks.size(); i++) {
      written[i] = disks.get(i).watchWrites();
      skipped[i] = new BlockSet(disks.get(i).blockCount);
    }
    diskIndex = 0;
    cursor = toCompare[0].cursor();
    lookahead = -1;
    answerNanos = engine.clock().nanoTime();
    send();
  }

  /** Sends requests for the next runs of blocks, up to {@link #REQUESTS_AHEAD} in flight. */
  private void send() {
    Connection c = connection.get();
    if (c == null) {
      return; // the tick sends again once connected
    }
    while (outstanding.size() < REQUESTS_AHEAD) {
      Request r = retries.isEmpty() || retryTimer != null ? nextRun() : retries.pollFirst();
      if (r == null) {
        break;
      }
      request(c, r);
    }
    if (outstanding.isEmpty() && retries.isEmpty()) {
      endPass();
    }
  }

  private void request(Connection c, Request r) {
    long id = nextRequest++;
    outstanding.put(id, r);
    DiskTracker d = disks.get(r.disk);
    long offset = r.first * d.blockSize;
    long length = Math.min(r.end * d.blockSize, d.disk.sizeBytes()) - offset;
    c.send(new Message.VerifyRequest(vm, id, d.id, offset, length, d.blockSize));
  }

  /**
   * The next span of blocks of this pass: from the next block to compare up to the last one within
   * {@link #REQUEST_BLOCKS}, gaps included (the blocks a later pass compares are few and scattered,
   * and one round trip for them all beats one each); null when every disk was walked.
   */
  private @Nullable Request nextRun() {
    while (diskIndex < disks.size()) {
      BlockSet.Cursor it = cursor;
      if (it != null && (lookahead >= 0 || it.hasNext())) {
        long first = lookahead >= 0 ? lookahead : it.next();
        lookahead = -1;
        long end = first + 1;
        while (it.hasNext()) {
          long next = it.next();
          if (next - first >= REQUEST_BLOCKS) {
            lookahead = next;
            break;
          }
          end = next + 1;
        }
        return new Request(diskIndex, first, end);
      }
      diskIndex++;
      cursor = diskIndex < disks.size() ? toCompare[diskIndex].cursor() : null;
    }
    return null;
  }

  public void onResponse(Message.VerifyResponse m) {
    Request r = outstanding.get(m.request());
    if (r == null || result.isDone()) {
      return; // an answer to a request asked again since, or of a verify that ended
    }
    DiskTracker d = disks.get(r.disk);
    long offset = r.first * d.blockSize;
    if (!m.disk().equals(d.id) || m.offsetBytes() != offset || m.blockSizeBytes() != d.blockSize
        || (m.refusal().isEmpty() && m.hashes().length != (r.end - r.first) * BlockHashes.HASH_BYTES)) {
      fail(new ReplicaException("verify of virtual machine " + vm + ": the replica server answered hashes of disk "
          + m.disk() + " at offset " + m.offsetBytes() + " that do not match the request for disk " + d.id
          + " at offset " + offset + "; run the verify again, and check the replica server's version"));
      return;
    }
    outstanding.remove(m.request());
    answerNanos = engine.clock().nanoTime();
    if (!m.refusal().isEmpty() || m.appliedCycle() < passBase) {
      lastRefusal = m.refusal().isEmpty() ? "it had applied cycle " + m.appliedCycle() + " of the "
          + passBase + " acknowledged" : printable(m.refusal());
      retries.add(r);
      scheduleRetry();
      return;
    }
    try {
      compare(r, d, m);
    } catch (IOException e) {
      fail(new ReplicaException("verify of virtual machine " + vm + " cannot read disk " + d.id + " of the primary: "
          + Failures.describe(e) + "; check the disk and run the verify again", e));
      return;
    }
    lastCycle = Math.max(lastCycle, m.appliedCycle());
    progressNanos = answerNanos;
    send();
  }

  private void compare(Request r, DiskTracker d, Message.VerifyResponse m) throws IOException {
    byte[] mine = new byte[BlockHashes.HASH_BYTES];
    for (long from = r.first; from < r.end; from += READ_BLOCKS) {
      long to = Math.min(r.end, from + READ_BLOCKS);
      DiskTracker.Unwritten u = d.readUnwritten(from, to, written[r.disk]);
      byte[] data = u.data();
      for (long b = from; b < to; b++) {
        int k = (int) (b - from);
        if (!toCompare[r.disk].contains(b)) {
          continue; // a gap of the span: compared in an earlier pass
        }
        if (engine.mutated(Mutation.VERIFY_SKIPS_A_RANGE) && b >= r.first + (r.end - r.first) / 2) {
          continue;
        }
        if (u.written()[k]) {
          skipped[r.disk].add(b);
          continue;
        }
        int at = k * d.blockSize;
        int length = d.blockLength(b);
        hashes.hash(data, at, at + length, mine, 0);
        if (!BlockHashes.same(mine, 0, m.hashes(), (int) (b - r.first) * BlockHashes.HASH_BYTES)) {
          differing[r.disk].add(b);
        }
        comparedBytes += length;
      }
    }
  }

  private void scheduleRetry() {
    if (retryTimer != null) {
      return;
    }
    retryTimer = engine.scheduler().schedule(() -> engine.runLocked(() -> {
      retryTimer = null;
      if (!result.isDone()) {
        send();
      }
    }), RETRY_DELAY);
  }

  private void endPass() {
    if (waitingForAck || result.isDone()) {
      return;
    }
    for (int i = 0; i < disks.size(); i++) {
      disks.get(i).unwatch(written[i]);
    }
    boolean left = false;
    for (BlockSet s : skipped) {
      left |= s.cardinality() > 0;
    }
    if (!left || pass >= PASSES_MAX) {
      finish();
      return;
    }
    for (int i = 0; i < disks.size(); i++) {
      toCompare[i] = skipped[i];
    }
    waitingForAck = true; // the blocks written meanwhile are pending until the next acknowledgement
  }

  /** A cycle was acknowledged: a pass waiting for one begins. */
  public void acknowledged(long cycle) {
    if (waitingForAck && cycle > passBase && !result.isDone()) {
      waitingForAck = false;
      progressNanos = engine.clock().nanoTime();
      beginPass();
    }
  }

  /** The relationship's timer: asks again what went unanswered, gives up without progress. */
  public void tick() {
    if (result.isDone()) {
      return;
    }
    long now = engine.clock().nanoTime();
    if (now - progressNanos > PATIENCE.toNanos()) {
      if (waitingForAck) {
        waitingForAck = false;
        finish(); // no cycle completes: report what was compared, the rest as not compared
      } else {
        fail(new ReplicaException("verify of virtual machine " + vm + " made no progress for "
            + PATIENCE.toMinutes() + " minutes" + (lastRefusal == null ? "" : "; the replica server answered: "
            + lastRefusal) + "; check the replica server and run the verify again"));
      }
      return;
    }
    if (!waitingForAck && now - answerNanos > ANSWER_TIMEOUT.toNanos()) {
      // Requests or answers were lost with a connection: ask again under new numbers.
      retries.addAll(outstanding.values());
      outstanding.clear();
      answerNanos = now;
    }
    if (!waitingForAck && (outstanding.size() < REQUESTS_AHEAD)) {
      send();
    }
  }

  /** Stops the verify: the relationship changed state, or was removed. */
  public void fail(RuntimeException reason) {
    if (result.isDone()) {
      return;
    }
    stop();
    result.completeExceptionally(reason);
    finished.accept(this);
  }

  private void stop() {
    for (int i = 0; i < disks.size(); i++) {
      if (written[i] != null) {
        disks.get(i).unwatch(written[i]);
      }
    }
    if (retryTimer != null) {
      retryTimer.cancel();
      retryTimer = null;
    }
    outstanding.clear();
    retries.clear();
  }

  private void finish() {
    stop();
    List<VerificationResult.DifferingRange> ranges = new ArrayList<>();
    long uncompared = 0;
    for (int i = 0; i < disks.size(); i++) {
      DiskTracker d = disks.get(i);
      int shift = Integer.numberOfTrailingZeros(d.blockSize);
      long[] diff = differing[i].byteRanges(shift, d.disk.sizeBytes());
      for (int k = 0; k < diff.length; k += 2) {
        ranges.add(new VerificationResult.DifferingRange(d.id, diff[k], diff[k + 1]));
      }
      long[] left = skipped[i].byteRanges(shift, d.disk.sizeBytes());
      for (int k = 1; k < left.length; k += 2) {
        uncompared += left[k];
      }
    }
    result.complete(new VerificationResult(vm, engine.clock().instant(), lastCycle, disks.size(), comparedBytes,
        uncompared, ranges));
    finished.accept(this);
  }

  /** Peer text in a message of ours: printable, and bounded. */
  private static String printable(String text) {
    String bounded = text.length() > 200 ? text.substring(0, 200) + "..." : text;
    StringBuilder out = new StringBuilder(bounded.length());
    bounded.codePoints().forEach(c -> out.appendCodePoint(Character.isISOControl(c) ? '?' : c));
    return out.toString();
  }

  /** Blocks {@code [first, end)} of disk number {@code disk}, where those of the pass are compared. */
  private record Request(int disk, long first, long end) {}
}
