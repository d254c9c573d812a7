package io.replica.core.replica;

import io.replica.api.DiskId;
import io.replica.api.VmId;
import io.replica.core.context.Failures;
import io.replica.core.journal.CycleJournal;
import io.replica.core.journal.JournalRecord;
import io.replica.core.testing.Mutation;
import io.replica.core.tracking.BlockSet;
import io.replica.spi.storage.StateStore;
import io.replica.spi.storage.VirtualDisk;
import io.replica.spi.transport.Connection;
import io.replica.spi.transport.Message;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.LinkedHashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
/**
 * Receives cycles for one replica machine: a cycle's messages arrive in sequence, are counted into
 * its checksum and appended to its journal (a first copy is written in place), and the cycle is
 * committed durably before it is acknowledged. Runs under the engine's lock.
 */
final class CycleReceiver {
  private static final Logger LOG = LoggerFactory.getLogger(CycleReceiver.class);

  /** What the receiver needs of the replica machine it receives for. */
  interface Owner {
    /** Why a cycle is not taken now (the replica's state), or null to take it. */
    Message.@Nullable CycleRejected refusal(Message.CycleBegin b);

    /** The last cycle durable here: journaled and committed, or applied. */
    long lastCommitted();

    /** A cycle built on one this replica does not hold: a resynchronization is required. */
    void outOfSequence(String reason) throws IOException;

    /** Where journals go. */
    StateStore journals();

    /** The replica disk {@code id}, or null if the machine has none of that id. */
    @Nullable VirtualDisk disk(DiskId id);

    int blockSize();

    /** A transfer failed: counted, and reported to the listeners. */
    void failed(String reason);

    /** The end of a cycle this replica already holds arrived again. */
    void endOfHeldCycle(long cycle) throws IOException;

    /** A first copy written in place is complete: the disks are flushed and it is applied. */
    void firstCopyDone(Receiving r) throws IOException;

    /** A journaled cycle is committed and acknowledged: it waits to be applied. */
    void committed(Receiving r) throws IOException;

    boolean mutated(Mutation mutation);
  }

  private final VmId vm;
  private final Owner owner;
  private @Nullable Receiving receiving;
  /** A cycle this replica holds whose messages arrive again: they are ignored. */
  private long duplicateCycle = -1;

  CycleReceiver(VmId vm, Owner owner) {
    this.vm = vm;
    this.owner = owner;
  }

  /** The transfer in progress, or null. */
  @Nullable Receiving receiving() {
    return receiving;
  }

  /** A connection closed: a transfer it carried cannot complete. */
  void connectionClosed(Connection c) {
    if (receiving != null && receiving.from == c) {
      abandon();
    }
  }

  /** A cycle begins: taken into a journal (or in place for a first copy), or refused. */
  void onBegin(Connection c, Message.CycleBegin b) throws IOException {
    if (receiving != null && receiving.cycle == b.cycle() && receiving.from == c) {
      return; // a duplicate
    }
    abandon();
    duplicateCycle = -1;
    Message.CycleRejected refused = owner.refusal(b);
    if (refused != null) {
      c.send(refused);
      return;
    }
    long lastCommitted = owner.lastCommitted();
    if (b.cycle() <= lastCommitted) {
      duplicateCycle = b.cycle();
      return;
    }
    if (b.baseCycle() > lastCommitted) {
      String reason = "cycle " + b.cycle() + " builds on cycle " + b.baseCycle() + " but the replica holds"
          + " only up to cycle " + lastCommitted + "; resynchronization required";
      owner.outOfSequence(reason);
      c.send(new Message.CycleRejected(vm, b.cycle(), reason, true));
      return;
    }
    // Before the first cut is complete there is no recovery point to protect: write in place.
    boolean direct = lastCommitted < 0;
    CycleJournal journal = direct ? null : CycleJournal.create(owner.journals(), vm, b.cycle());
    receiving = new Receiving(c, b.cycle(), b.cutTime(), b.recoveryPoint(), journal);
    receiving.resync = b.resynchronization();
    if (direct && !b.resynchronization()) {
      receiving.inPlace = new LinkedHashMap<>();
    }
    if (journal != null) {
      journal.append(new JournalRecord.Begin(b.cycle(), b.baseCycle(), b.cutTime(), b.recoveryPoint()));
    }
  }

  /**
   * The transfer a numbered message belongs to, or null if the message is to be ignored: a
   * duplicate, or part of a cycle already held. A gap in the numbering abandons the transfer.
   */
  private @Nullable Receiving current(Connection c, long cycle, long sequence) {
    if (cycle == duplicateCycle || cycle <= owner.lastCommitted()) {
      return null;
    }
    Receiving r = receiving;
    if (r == null || r.cycle != cycle) {
      ReplicaRelationship.protocolError(c, "message for cycle " + cycle + " of virtual machine " + vm
          + " arrived outside that cycle");
      return null;
    }
    if (sequence <= r.checksum.messages()) {
      return null;
    }
    if (sequence != r.checksum.messages() + 1) {
      String reason = "message " + sequence + " of cycle " + cycle + " arrived after message "
          + r.checksum.messages() + "; the messages between were lost";
      abandon();
      owner.failed(reason);
      c.send(new Message.CycleRejected(vm, cycle, reason, false));
      return null;
    }
    return r;
  }

  void onBlock(Connection c, Message.BlockData d) throws IOException {
    Receiving r = current(c, d.cycle(), d.sequence());
    if (r == null || !checkRange(c, d.disk(), d.offsetBytes(), d.data().length)) {
      return;
    }
    r.checksum.block(d.disk(), d.offsetBytes(), d.data());
    if (r.journal != null) {
      r.journal.append(new JournalRecord.Block(d.disk(), d.offsetBytes(), d.data()));
    } else {
      r.wroteInPlace(d.disk(), owner.disk(d.disk()).sizeBytes(), d.offsetBytes(), d.data().length,
          owner.blockSize());
      owner.disk(d.disk()).write(d.offsetBytes(), ByteBuffer.wrap(d.data()));
    }
  }

  void onZero(Connection c, Message.ZeroRun z) throws IOException {
    Receiving r = current(c, z.cycle(), z.sequence());
    if (r == null || !checkRange(c, z.disk(), z.offsetBytes(), z.lengthBytes())) {
      return;
    }
    r.checksum.zero(z.disk(), z.offsetBytes(), z.lengthBytes());
    if (r.journal != null) {
      r.journal.append(new JournalRecord.Zero(z.disk(), z.offsetBytes(), z.lengthBytes()));
    } else {
      CycleApplier.writeZeros(owner.disk(z.disk()), z.offsetBytes(), z.lengthBytes());
    }
  }

  private boolean checkRange(Connection c, DiskId disk, long offset, long length) {
    VirtualDisk d = owner.disk(disk);
    if (d == null) {
      ReplicaRelationship.protocolError(c, "cycle data names disk " + disk + ", which virtual machine " + vm
          + " does not have");
      abandon();
      return false;
    }
    int sector = d.logicalSectorSizeBytes();
    if (offset < 0 || length <= 0 || offset % sector != 0 || length % sector != 0
        || offset > d.sizeBytes() - length) {
      ReplicaRelationship.protocolError(c, "cycle data for disk " + disk + " of virtual machine " + vm
          + " at offset " + offset + " length " + length + " is outside the disk or not sector-aligned");
      abandon();
      return false;
    }
    return true;
  }

  /**
   * A cycle ends: checked against its count, bytes and checksum, then committed durably and
   * acknowledged (a first copy in place: flushed, applied, acknowledged), or refused.
   */
  void onEnd(Connection c, Message.CycleEnd e) throws IOException {
    if (e.cycle() == duplicateCycle || e.cycle() <= owner.lastCommitted()) {
      c.send(new Message.CycleAck(vm, e.cycle()));
      owner.endOfHeldCycle(e.cycle());
      return;
    }
    Receiving r = receiving;
    if (r == null || r.cycle != e.cycle()) {
      return; // the end of a transfer already abandoned and rejected
    }
    if (r.checksum.messages() != e.messageCount() || r.checksum.payloadBytes() != e.payloadBytes()
        || r.checksum.value() != e.contentCrc32c()) {
      abandon();
      String reason = "cycle " + e.cycle() + " arrived incomplete or damaged (" + r.checksum.messages()
          + " of " + e.messageCount() + " messages, " + r.checksum.payloadBytes() + " of "
          + e.payloadBytes() + " bytes, checksum " + (r.checksum.value() == e.contentCrc32c() ? "ok" : "mismatch")
          + "); nothing of it was kept";
      owner.failed(reason);
      c.send(new Message.CycleRejected(vm, e.cycle(), reason, false));
      return;
    }
    receiving = null;
    if (r.journal == null) {
      owner.firstCopyDone(r);
      c.send(new Message.CycleAck(vm, r.cycle));
      return;
    }
    JournalRecord.Commit commit = new JournalRecord.Commit(e.messageCount(), e.payloadBytes(), e.contentCrc32c());
    if (owner.mutated(Mutation.ACK_BEFORE_DURABLE)) {
      c.send(new Message.CycleAck(vm, r.cycle));
      r.journal.append(commit);
    } else {
      r.journal.commit(commit);
      c.send(new Message.CycleAck(vm, r.cycle));
    }
    r.journal.close();
    owner.committed(r);
  }

  /** Drops a transfer in progress and whatever it journaled. */
  void abandon() {
    Receiving r = receiving;
    receiving = null;
    if (r != null && r.inPlace != null) {
      // A first copy written in place and not finished: nothing was committed before it, so
      // what it wrote goes, and a later first copy starts from empty disks again.
      int block = owner.blockSize();
      try {
        for (Map.Entry<DiskId, BlockSet> e : r.inPlace.entrySet()) {
          VirtualDisk d = owner.disk(e.getKey());
          long[] ranges = e.getValue().byteRanges(Integer.numberOfTrailingZeros(block), d.sizeBytes());
          for (int i = 0; i < ranges.length; i += 2) {
            CycleApplier.writeZeros(d, ranges[i], ranges[i + 1]);
          }
        }
      } catch (IOException e) {
        LOG.warn("cannot clear what the abandoned first copy of cycle " + r.cycle + " of " + vm + " wrote: {}", Failures.describe(e));
      }
    }
    if (r != null && r.journal != null) {
      try {
        r.journal.close();
        owner.journals().delete(CycleJournal.name(vm, r.cycle));
      } catch (IOException e) {
        LOG.warn("cannot delete the abandoned journal of cycle " + r.cycle + " of " + vm + ": {}", Failures.describe(e));
      }
    }
  }
}
