package io.replica.spi.transport;

import io.replica.api.DiskId;
import io.replica.api.VmId;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The replication protocol between a primary and a replica server. Every message names the
 * virtual machine it is about, so one connection carries many.
 *
 * <p>A replication cycle is {@link CycleBegin}, then {@link BlockData} and {@link ZeroRun}
 * messages, then {@link CycleEnd}; the replica answers {@link CycleAck} once the cycle is durable,
 * or {@link CycleRejected}. Initial replication is cycle 0.
 */
public sealed interface Message {

  /** The virtual machine this message is about. */
  VmId vm();

  /** A disk of a virtual machine as the replica must create it. */
  record DiskDescriptor(DiskId disk, long sizeBytes, int logicalSectorSizeBytes) {
    /** @throws IllegalArgumentException if a size is not positive */
    public DiskDescriptor {
      Objects.requireNonNull(disk, "disk");
      if (sizeBytes <= 0 || logicalSectorSizeBytes <= 0) {
        throw new IllegalArgumentException("disk " + disk + " has a non-positive size");
      }
    }
  }

  /**
   * Primary to replica: asks to replicate a machine here (or to resume doing so), keeping
   * {@code additionalRecoveryPoints} points besides the latest. With {@code reverseOfCycle} of 0
   * or more, the sender is the former replica of a planned failover at that cycle, and the
   * receiver, the former primary, becomes its replica without an initial replication; -2 when the
   * failover was unplanned, so the receiver becomes the replica once its machine is off and a
   * resynchronization repairs its disks; -1 otherwise. With {@code existingCopy}, a replica that has
   * no such machine yet takes disks already in its storage location under the machine's disk names
   * (a restored copy), and initial replication compares blocks instead of copying them.
   */
  record EnableRequest(
      VmId vm, String vmName, String primaryHost, List<DiskDescriptor> disks,
      int trackingBlockSizeBytes, int additionalRecoveryPoints, long reverseOfCycle, boolean existingCopy)
      implements Message {
    public EnableRequest {
      Objects.requireNonNull(vm, "vm");
      disks = List.copyOf(disks);
    }
  }

  /** The replica server's answer to an {@link EnableRequest}. */
  enum EnableStatus {
    /** Replication goes on from {@code lastCommittedCycle}. */
    ACCEPTED,
    /** The primary is not authorized for this machine; the reason says why. */
    NOT_AUTHORIZED,
    /** The replica server cannot take the machine (not enabled, storage, geometry). */
    REFUSED
  }

  /**
   * Replica to primary: whether it accepts, and the last cycle it holds durably ({@code -1}
   * before initial replication completed), from which the primary resumes.
   */
  record EnableResponse(VmId vm, EnableStatus status, String reason, long lastCommittedCycle)
      implements Message {}

  /**
   * Primary to replica: a cycle starts. Its blocks bring a replica that applied any cycle from
   * {@code baseCycle} to {@code cycle - 1} to the primary's state at {@code cutTime}. With a
   * {@code recoveryPoint} type, the replica keeps the cycle as an additional recovery point of that
   * type. A {@code resynchronization} cycle covers blocks that may differ whatever the replica
   * holds; the primary asks for hashes first and sends only the blocks that differ.
   */
  record CycleBegin(VmId vm, long cycle, long baseCycle, Instant cutTime,
      io.replica.api.@Nullable RecoveryPointType recoveryPoint, boolean resynchronization)
      implements Message {}

  /**
   * Primary to replica, within a resynchronizing cycle: send the strong hashes of the blocks of
   * {@code [offsetBytes, offsetBytes + lengthBytes)} of a disk as the replica holds them, in blocks
   * of {@code blockSizeBytes}.
   */
  record HashRequest(VmId vm, long cycle, DiskId disk, long offsetBytes, long lengthBytes, int blockSizeBytes)
      implements Message {}

  /**
   * Replica to primary: 16 bytes of SHA-256 per block, in order, for the range a
   * {@link HashRequest} named; the primary sends only the blocks whose hash differs.
   */
  record HashResponse(VmId vm, long cycle, DiskId disk, long offsetBytes, int blockSizeBytes, byte[] hashes)
      implements Message {
    @Override
    public String toString() {
      return "HashResponse[vm=" + vm + ", cycle=" + cycle + ", disk=" + disk + ", offset=" + offsetBytes
          + ", blockSize=" + blockSizeBytes + ", blocks=" + hashes.length / 16 + "]";
    }
  }

  /**
   * Primary to replica, for an online verify: send the strong hashes of the blocks of
   * {@code [offsetBytes, offsetBytes + lengthBytes)} of a disk as the replica's latest recovery point
   * holds them, in blocks of {@code blockSizeBytes}. {@code request} numbers the requests of the
   * primary, so that it recognizes the answer and ignores a stale one. Unlike a {@link HashRequest}
   * it belongs to no cycle: the replica answers at whatever cycle it has applied, and says which.
   */
  record VerifyRequest(VmId vm, long request, DiskId disk, long offsetBytes, long lengthBytes, int blockSizeBytes)
      implements Message {}

  /**
   * Replica to primary, the answer to a {@link VerifyRequest}: 16 bytes of SHA-256 per block, in
   * order, of the replica's disk at its latest applied cycle {@code appliedCycle}. With a non-empty
   * {@code refusal} the replica cannot answer now (it is still applying, or failed over) and
   * {@code hashes} is empty; the primary asks again later.
   */
  record VerifyResponse(VmId vm, long request, DiskId disk, long offsetBytes, int blockSizeBytes,
      long appliedCycle, byte[] hashes, String refusal) implements Message {
    public VerifyResponse {
      Objects.requireNonNull(vm, "vm");
      Objects.requireNonNull(disk, "disk");
      Objects.requireNonNull(hashes, "hashes");
      Objects.requireNonNull(refusal, "refusal");
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof VerifyResponse v && vm.equals(v.vm) && request == v.request && disk.equals(v.disk)
          && offsetBytes == v.offsetBytes && blockSizeBytes == v.blockSizeBytes && appliedCycle == v.appliedCycle
          && java.util.Arrays.equals(hashes, v.hashes) && refusal.equals(v.refusal);
    }

    @Override
    public int hashCode() {
      return Objects.hash(vm, request, disk, offsetBytes, java.util.Arrays.hashCode(hashes));
    }

    @Override
    public String toString() {
      return "VerifyResponse[vm=" + vm + ", request=" + request + ", disk=" + disk + ", offset=" + offsetBytes
          + ", blockSize=" + blockSizeBytes + ", appliedCycle=" + appliedCycle + ", blocks=" + hashes.length / 16
          + (refusal.isEmpty() ? "" : ", refused") + "]";
    }
  }

  /**
   * Former primary to new primary, when the former primary becomes the replica after an unplanned
   * failover: byte ranges of {@code disk} it may have changed since the last cycle the other side
   * acknowledged, as {@code [offset0, length0, offset1, length1, ...]}. Several may follow for one
   * disk; all come before the {@link EnableResponse}. With them for every disk, the new primary
   * compares only these ranges and those it changed itself; without them it compares every block.
   */
  record ChangedRanges(VmId vm, DiskId disk, long[] ranges) implements Message {
    /** At most this many ranges travel in one message. */
    public static final int MAX_RANGES = 4096;

    /** Checks the shape: pairs of a non-negative offset and a positive length, at most {@link #MAX_RANGES}. */
    public ChangedRanges {
      Objects.requireNonNull(vm, "vm");
      Objects.requireNonNull(disk, "disk");
      if (ranges.length % 2 != 0 || ranges.length / 2 > MAX_RANGES) {
        throw new IllegalArgumentException("changed ranges must be offset/length pairs, at most " + MAX_RANGES
            + " of them; got " + ranges.length + " numbers");
      }
      for (int i = 0; i < ranges.length; i += 2) {
        if (ranges[i] < 0 || ranges[i + 1] <= 0 || ranges[i] + ranges[i + 1] < 0) {
          throw new IllegalArgumentException("changed range " + i / 2 + " is invalid: offset " + ranges[i]
              + ", length " + ranges[i + 1]);
        }
      }
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof ChangedRanges c && vm.equals(c.vm) && disk.equals(c.disk)
          && java.util.Arrays.equals(ranges, c.ranges);
    }

    @Override
    public int hashCode() {
      return Objects.hash(vm, disk, java.util.Arrays.hashCode(ranges));
    }

    @Override
    public String toString() {
      return "ChangedRanges[vm=" + vm + ", disk=" + disk + ", ranges=" + ranges.length / 2 + "]";
    }
  }

  /**
   * Primary to replica: bytes of one disk at an offset, part of a cycle. Block and zero-run
   * messages of a cycle are numbered from 1 in {@code sequence}, so a replica ignores a duplicate
   * and notices a gap.
   */
  record BlockData(VmId vm, long cycle, long sequence, DiskId disk, long offsetBytes, byte[] data)
      implements Message {
    @Override
    public String toString() {
      return "BlockData[vm=" + vm + ", cycle=" + cycle + ", sequence=" + sequence + ", disk=" + disk
          + ", offset=" + offsetBytes + ", length=" + data.length + "]";
    }
  }

  /** Primary to replica: a range of one disk that reads as zeros, part of a cycle (numbered as blocks). */
  record ZeroRun(VmId vm, long cycle, long sequence, DiskId disk, long offsetBytes, long lengthBytes)
      implements Message {}

  /**
   * Primary to replica: the cycle is complete; {@code messageCount} is the last sequence number.
   * The replica checks the counts and the CRC-32C
   * over every block's disk, offset and payload before it acknowledges.
   */
  record CycleEnd(VmId vm, long cycle, long messageCount, long payloadBytes, int contentCrc32c)
      implements Message {}

  /**
   * Primary to replica (planned failover): the primary machine is off and the replica holds its
   * last cycle, {@code cycle}; fail over at exactly that point and replicate back to
   * {@code reverseHost}:{@code reversePort}.
   */
  record FailoverPrepared(VmId vm, long cycle, String reverseHost, int reversePort,
      io.replica.api.AuthenticationType authentication, java.time.Duration replicationFrequency)
      implements Message {}

  /**
   * Replica to primary, before an unplanned failover: is the machine still running there? The
   * replica refuses to fail over while it is, which prevents two running copies.
   */
  record PowerStateQuery(VmId vm) implements Message {}

  /** Primary to replica: the machine's power state on the primary, or null if the primary cannot tell. */
  record PowerStateReport(VmId vm, io.replica.spi.host.@Nullable PowerState powerState) implements Message {}

  /** Replica to primary: whether the planned failover happened, and if not, why. */
  record FailoverCompleted(VmId vm, boolean succeeded, String reason) implements Message {}

  /** Replica to primary: the cycle is durable on the replica and will be applied. */
  record CycleAck(VmId vm, long cycle) implements Message {}

  /**
   * Replica to primary: the cycle was refused and nothing of it was kept. With
   * {@code resynchronizationRequired} the replica cannot take further cycles (a gap in the
   * sequence) until the disks are resynchronized; otherwise the primary retries.
   */
  record CycleRejected(VmId vm, long cycle, String reason, boolean resynchronizationRequired)
      implements Message {}
}
