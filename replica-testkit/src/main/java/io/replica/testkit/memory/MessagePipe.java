package io.replica.testkit.memory;

import io.replica.spi.transport.Message;
import java.util.ArrayDeque;
import org.jspecify.annotations.Nullable;

/**
 * One direction of a connection: the messages one end sent that the other has not received yet.
 * All fields are guarded by the network's lock.
 *
 * <p>Messages wait in {@link #waiting} until they are ready (their injected delay passed) and
 * every message before them was handed on, which keeps FIFO order when delays change; then they
 * move to {@link #handedOff}, whose entries sit in the receiver's mailbox. Both count towards
 * {@link #inFlightBytes} until the receiver's handler gets them.
 */
final class MessagePipe {
  final InMemoryConnection from;
  final InMemoryConnection to;
  final HostLink direction;
  final ArrayDeque<InFlight> waiting = new ArrayDeque<>();
  final ArrayDeque<InFlight> handedOff = new ArrayDeque<>();
  /** A message a reorder fault holds back until the next one is sent. */
  @Nullable InFlight held;
  long inFlightBytes;
  boolean writable = true;
  /** The sender closed in an orderly way: the receiver gets onClosed(null) after the last message. */
  boolean endOfStream;

  MessagePipe(InMemoryConnection from, InMemoryConnection to) {
    this.from = from;
    this.to = to;
    this.direction = new HostLink(from.localHost, from.peerHost);
  }

  /** Forgets every message not yet received (a reset, or the receiver closed); returns nothing. */
  void discardAll() {
    for (InFlight entry : waiting) {
      entry.discarded = true;
    }
    for (InFlight entry : handedOff) {
      entry.discarded = true;
    }
    waiting.clear();
    handedOff.clear();
    held = null;
    inFlightBytes = 0;
    writable = true; // nothing is buffered any more; the sender is closed, so nobody is told
  }

  /** One message on its way; a duplicated message travels as two entries. */
  static final class InFlight {
    /** The message as the sender passed it; for a block, its array is the sender's. */
    final Message sent;
    /** A copy of the sender's payload taken in send(); null if the message has no payload. */
    final byte @Nullable [] snapshot;
    final boolean corrupt;
    final long bytes;
    boolean ready;
    boolean discarded;

    InFlight(Message sent, byte @Nullable [] snapshot, boolean corrupt, long bytes) {
      this.sent = sent;
      this.snapshot = snapshot;
      this.corrupt = corrupt;
      this.bytes = bytes;
    }

    /**
     * The message the receiver gets: for a block, a fresh copy of the payload as it was at
     * send(), so neither side can see the other change its array; other messages are immutable
     * records and travel as they are.
     */
    Message receiverCopy() {
      if (sent instanceof Message.HashResponse) {
        Message.HashResponse h = (Message.HashResponse) sent;
        return new Message.HashResponse(h.vm(), h.cycle(), h.disk(), h.offsetBytes(), h.blockSizeBytes(),
            h.hashes().clone());
      }
      if (sent instanceof Message.VerifyResponse v) {
        return new Message.VerifyResponse(v.vm(), v.request(), v.disk(), v.offsetBytes(), v.blockSizeBytes(),
            v.appliedCycle(), v.hashes().clone(), v.refusal());
      }
      if (sent instanceof Message.ChangedRanges r) {
        return new Message.ChangedRanges(r.vm(), r.disk(), r.ranges().clone());
      }
      if (snapshot == null || !(sent instanceof Message.BlockData)) {
        return sent;
      }
      Message.BlockData block = (Message.BlockData) sent;
      byte[] data = snapshot.clone();
      if (corrupt && data.length > 0) {
        data[0] = (byte) ~data[0];
      }
      return new Message.BlockData(block.vm(), block.cycle(), block.sequence(), block.disk(), block.offsetBytes(), data);
    }
  }
}
