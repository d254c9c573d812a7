package io.replica.core.primary;

import io.replica.api.VmId;
import io.replica.api.event.ReplicationEvent;
import io.replica.core.context.Failures;
import io.replica.core.tracking.DiskTracker;
import io.replica.core.verify.BlockHashes;
import io.replica.spi.transport.Connection;
import io.replica.spi.transport.Endpoint;
import io.replica.spi.transport.Message;
import java.io.IOException;
import java.util.Arrays;
import java.util.Map;
import java.util.function.Consumer;
/**
 * Sends a cycle's content over a connection: reads the frozen blocks through the tracker, sends
 * blocks and zero runs under the bandwidth limit, and for a resynchronization sends only the blocks
 * whose hash differs from the replica's. Runs under the engine's lock.
 */
final class CycleSender {
  static final int CHUNK_BYTES_MAX = 256 * 1024;
  static final byte[] ZEROS = new byte[CHUNK_BYTES_MAX];

  /** Hash requests for a resync cover at most this many blocks each, and go this many ahead. */
  private static final long HASH_RANGE_BLOCKS = 1024;

  private static final int HASH_RANGES_AHEAD = 8;

  private final PrimaryHost engine;
  private final VmId vm;
  private final int blockSize;
  private final Bandwidth bandwidth;
  private final Endpoint replicaServer;
  private final BlockHashes hashes = new BlockHashes();
  /** Fails the cycle in flight with a reason. */
  private final Consumer<String> fail;
  /** Sends on once the bandwidth limit allows it. */
  private final Runnable resume;

  CycleSender(PrimaryHost engine, VmId vm, int blockSize, Bandwidth bandwidth, Endpoint replicaServer,
      Consumer<String> fail, Runnable resume) {
    this.engine = engine;
    this.vm = vm;
    this.blockSize = blockSize;
    this.bandwidth = bandwidth;
    this.replicaServer = replicaServer;
    this.fail = fail;
    this.resume = resume;
  }

  /**
   * Sends what {@code conn} takes of cycle {@code c}: blocks and zero runs, or for a resync only the
   * blocks whose hash differs from the replica's, then the cycle's end. Stops when the connection is
   * not writable, the bandwidth limit is reached or hashes are awaited; the owner calls again then.
   */
  void pump(Cycle c, Connection conn) {
    c.progressNanos = engine.clock().nanoTime();
    try {
      while (conn.isWritable()) {
        if (c.disk >= c.disks.size()) {
          conn.send(new Message.CycleEnd(vm, c.number, c.checksum.messages(),
              c.checksum.payloadBytes(), c.checksum.value()));
          c.sentAll = true;
          return;
        }
        DiskTracker d = c.disks.get(c.disk);
        int block = blockSize;
        int maxBlocks = Math.max(1, CHUNK_BYTES_MAX / block);
        if (c.resync) {
          long reach = requestHashes(conn, c, d);
          long next = d.peekNext();
          if (next >= 0 && next * block >= reach) {
            return; // the replica's hashes for the next blocks are on their way
          }
          if (next >= 0) {
            maxBlocks = (int) Math.min(maxBlocks, (reach - next * block + block - 1) / block);
          }
        }
        if (!bandwidth.allows(resume)) {
          return;
        }
        DiskTracker.Chunk chunk = d.readNext(maxBlocks);
        if (chunk == null) {
          c.disk++;
          continue;
        }
        long before = c.checksum.payloadBytes();
        if (c.resync) {
          sendDiffering(conn, c, d, chunk);
        } else {
          send(conn, c, d, chunk);
        }
        bandwidth.spend(c.checksum.payloadBytes() - before);
        c.doneBytes += chunk.blocks() * blockSize;
        if (c.initial) {
          reportProgress(c);
        }
      }
    } catch (IOException e) {
      fail.accept("cannot read disk of virtual machine " + vm + ": " + Failures.describe(e));
    }
  }

  /**
   * Asks for the replica's hashes of the runs of blocks the cycle will read, ahead of the reading
   * (every block for a full comparison, fewer when it was narrowed); returns how far the answers
   * reach: every block of the cycle below that offset has its hash here.
   */
  private long requestHashes(Connection conn, Cycle c, DiskTracker d) {
    Cycle.HashPlan plan = c.hashed.computeIfAbsent(d.id, k -> new Cycle.HashPlan(d.frozenCursor()));
    int block = blockSize;
    while (plan.requested.size() < HASH_RANGES_AHEAD && (plan.lookahead >= 0 || plan.blocks.hasNext())) {
      long first = plan.lookahead >= 0 ? plan.lookahead : plan.blocks.next();
      plan.lookahead = -1;
      long end = first + 1;
      while (end - first < HASH_RANGE_BLOCKS && plan.blocks.hasNext()) {
        long next = plan.blocks.next();
        if (next != end) {
          plan.lookahead = next;
          break;
        }
        end++;
      }
      long offset = first * block;
      long length = Math.min(end * block, d.disk.sizeBytes()) - offset;
      conn.send(new Message.HashRequest(vm, c.number, d.id, offset, length, block));
      plan.requested.add(new long[] {offset, length});
    }
    if (plan.requested.isEmpty() && plan.lookahead < 0 && !plan.blocks.hasNext()) {
      return d.disk.sizeBytes(); // every hash asked for arrived
    }
    return plan.answered;
  }

  /**
   * Takes the replica's hashes for a run of cycle {@code c}'s blocks; false (and the cycle failed)
   * if they were not asked for.
   */
  boolean onHashResponse(Cycle c, Message.HashResponse m) {
    Cycle.HashPlan plan = c.hashed.get(m.disk());
    long[] asked = plan == null ? null : plan.requested.peekFirst();
    int block = blockSize;
    if (asked == null || m.offsetBytes() != asked[0] || m.blockSizeBytes() != block
        || m.hashes().length != (asked[1] + block - 1) / block * BlockHashes.HASH_BYTES) {
      fail.accept("replica server " + replicaServer + " answered hashes for " + m.disk() + " at " + m.offsetBytes()
          + " that were not asked for");
      return false;
    }
    plan.requested.pollFirst();
    c.hashes.computeIfAbsent(m.disk(), k -> new java.util.TreeMap<>()).put(m.offsetBytes(), m);
    plan.answered = asked[0] + asked[1];
    return true;
  }

  /** Sends the blocks of a chunk whose hash differs from the replica's; skips the others. */
  private void sendDiffering(Connection conn, Cycle c, DiskTracker d, DiskTracker.Chunk chunk) {
    byte[] data = chunk.data();
    int block = blockSize;
    java.util.TreeMap<Long, Message.HashResponse> known = c.hashes.get(d.id);
    byte[] mine = new byte[BlockHashes.HASH_BYTES];
    int start = -1;
    for (int at = 0; at <= data.length; at += block) {
      boolean same = false;
      if (at < data.length) {
        long offset = chunk.offsetBytes() + at;
        Map.Entry<Long, Message.HashResponse> e = known == null ? null : known.floorEntry(offset);
        int index = e == null ? -1 : (int) ((offset - e.getKey()) / block);
        if (e != null && (index + 1) * BlockHashes.HASH_BYTES <= e.getValue().hashes().length) {
          hashes.hash(data, at, Math.min(data.length, at + block), mine, 0);
          same = BlockHashes.same(mine, 0, e.getValue().hashes(), index * BlockHashes.HASH_BYTES);
        }
      }
      if (same || at >= data.length) {
        if (start >= 0) {
          int end = Math.min(at, data.length);
          send(conn, c, d, new DiskTracker.Chunk(chunk.firstBlock() + start / block, (end - start + block - 1) / block,
              chunk.offsetBytes() + start, Arrays.copyOfRange(data, start, end)));
          start = -1;
        }
        if (same) {
          c.skippedBytes += Math.min(block, data.length - at);
        }
      } else if (start < 0) {
        start = at;
      }
    }
    if (known != null) {
      long end = chunk.offsetBytes() + data.length;
      while (!known.isEmpty()) {
        Map.Entry<Long, Message.HashResponse> first = known.firstEntry();
        if (first.getKey() + (long) first.getValue().hashes().length / BlockHashes.HASH_BYTES * block > end) {
          break;
        }
        known.pollFirstEntry();
      }
    }
  }

  /** Sends a chunk as block messages, with runs of zero blocks as zero-run markers. */
  private void send(Connection conn, Cycle c, DiskTracker d, DiskTracker.Chunk chunk) {
    byte[] data = chunk.data();
    int block = blockSize;
    int start = 0;
    while (start < data.length) {
      boolean zero = isZero(data, start, Math.min(data.length, start + block));
      int end = start;
      while (end < data.length && isZero(data, end, Math.min(data.length, end + block)) == zero) {
        end = Math.min(data.length, end + block);
      }
      long offset = chunk.offsetBytes() + start;
      if (zero) {
        c.checksum.zero(d.id, offset, end - start);
        conn.send(new Message.ZeroRun(vm, c.number, c.checksum.messages(), d.id, offset, end - start));
      } else {
        byte[] payload = start == 0 && end == data.length ? data : Arrays.copyOfRange(data, start, end);
        c.checksum.block(d.id, offset, payload);
        conn.send(new Message.BlockData(vm, c.number, c.checksum.messages(), d.id, offset, payload));
      }
      start = end;
    }
  }

  void reportProgress(Cycle c) {
    long percent = c.totalBytes == 0 ? 100 : c.doneBytes * 100 / c.totalBytes;
    if (percent > c.reportedPercent) {
      c.reportedPercent = percent;
      engine.emit(new ReplicationEvent.InitialReplicationProgress(vm, engine.clock().instant(),
          Math.min(c.doneBytes, c.totalBytes), c.totalBytes));
    }
  }

  static boolean isZero(byte[] data, int from, int to) {
    return Arrays.mismatch(data, from, to, ZEROS, 0, to - from) < 0;
  }
}
