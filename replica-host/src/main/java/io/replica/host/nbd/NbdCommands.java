package io.replica.host.nbd;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.replica.spi.storage.ByteRange;
import io.replica.spi.storage.VirtualDisk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.NonWritableChannelException;
import java.nio.charset.StandardCharsets;
import java.nio.file.ReadOnlyFileSystemException;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the commands of one connection's transmission on its export's disk, once
 * {@link NbdTransmission} has checked them, and encodes their replies: simple, or structured when
 * the client asked for structured replies. Runs on the server's I/O executor, never on the
 * network thread.
 */
final class NbdCommands {
  private static final Logger LOG = LoggerFactory.getLogger(NbdCommands.class);
  private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(1024 * 1024).asReadOnlyBuffer();
  /** The most block-status descriptors in one reply (the spec asks for at most 2^20). */
  private static final int MAX_EXTENTS = 1 << 16;

  private final ByteBufAllocator alloc;
  private final Export export;
  private final boolean structured;

  NbdCommands(ByteBufAllocator alloc, Export export, boolean structured) {
    this.alloc = alloc;
    this.export = export;
    this.structured = structured;
  }

  /** Runs one checked command on the disk; an I/O failure becomes an error reply. */
  ByteBuf execute(int flags, int type, long cookie, long offset, long length,
      @Nullable ByteBuf payload, boolean fua) {
    VirtualDisk disk = export.disk;
    try {
      switch (type) {
        case Nbd.CMD_READ:
          return read(disk, cookie, offset, (int) length);
        case Nbd.CMD_WRITE:
          disk.write(offset, payload.nioBuffer());
          break;
        case Nbd.CMD_WRITE_ZEROES:
          writeZeroes(disk, offset, length, (flags & Nbd.CMD_FLAG_NO_HOLE) != 0);
          break;
        case Nbd.CMD_TRIM:
          try {
            if (length > 0) {
              disk.trim(offset, length);
            }
          } catch (UnsupportedOperationException e) {
            // A hint the disk cannot take; the data stays as it was, which TRIM allows.
          }
          break;
        case Nbd.CMD_FLUSH:
          disk.flush();
          break;
        case Nbd.CMD_CACHE:
          break;
        case Nbd.CMD_BLOCK_STATUS:
          return blockStatus(disk, flags, cookie, offset, length);
        default:
          throw new IllegalStateException("command " + type + " passed validation");
      }
      if (fua && type != Nbd.CMD_FLUSH) {
        disk.flush();
      }
      return simple(alloc, cookie, 0);
    } catch (IllegalArgumentException e) {
      return error(cookie, type, Nbd.EINVAL, e.getMessage());
    } catch (ReadOnlyFileSystemException | NonWritableChannelException e) {
      return error(cookie, type, Nbd.EPERM, "the disk is read-only");
    } catch (ClosedChannelException e) {
      return error(cookie, type, Nbd.ESHUTDOWN, "the disk was closed");
    } catch (IOException | RuntimeException e) {
      LOG.warn("NBD command {} on export '{}' at offset {} failed: {}", type,
          Nbd.printable(export.name), Long.toUnsignedString(offset), e.toString());
      return error(cookie, type, Nbd.EIO, "I/O error on the server: " + e.getMessage());
    }
  }

  private ByteBuf read(VirtualDisk disk, long cookie, long offset, int length)
      throws IOException {
    int header = structured ? 28 : 16;
    if (structured && length == 0) {
      return chunkHeader(alloc, cookie, Nbd.REPLY_TYPE_NONE, 0);
    }
    ByteBuf b = alloc.buffer(header + length);
    try {
      if (structured) {
        b.writeInt(Nbd.STRUCTURED_REPLY_MAGIC).writeShort(Nbd.REPLY_FLAG_DONE)
            .writeShort(Nbd.REPLY_TYPE_OFFSET_DATA).writeLong(cookie).writeInt(8 + length)
            .writeLong(offset);
      } else {
        b.writeInt(Nbd.SIMPLE_REPLY_MAGIC).writeInt(0).writeLong(cookie);
      }
      ByteBuffer dst = b.nioBuffer(b.writerIndex(), length);
      disk.read(offset, dst);
      b.writerIndex(b.writerIndex() + length);
      ByteBuf done = b;
      b = null;
      return done;
    } finally {
      if (b != null) {
        b.release();
      }
    }
  }

  private static void writeZeroes(VirtualDisk disk, long offset, long length, boolean noHole)
      throws IOException {
    if (length == 0) {
      return;
    }
    if (!noHole) {
      try {
        // The disk contract: a trimmed range reads as zeros from then on.
        disk.trim(offset, length);
        return;
      } catch (UnsupportedOperationException e) {
        // Write the zeros instead.
      }
    }
    long at = offset;
    long end = offset + length;
    while (at < end) {
      int n = (int) Math.min(ZEROS.capacity(), end - at);
      ByteBuffer z = ZEROS.duplicate();
      z.limit(n);
      disk.write(at, z);
      at += n;
    }
  }

  private ByteBuf blockStatus(VirtualDisk disk, int flags, long cookie, long offset,
      long length) throws IOException {
    List<ByteRange> ranges = disk.allocatedRanges();
    long end = offset + length;
    boolean one = (flags & Nbd.CMD_FLAG_REQ_ONE) != 0;
    int limit = one ? 1 : MAX_EXTENTS;
    List<long[]> extents = new ArrayList<>();
    // First range that ends after offset.
    int lo = 0;
    int hi = ranges.size();
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (ranges.get(mid).endBytes() <= offset) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    long at = offset;
    for (int i = lo; i < ranges.size() && at < end && extents.size() < limit; i++) {
      ByteRange r = ranges.get(i);
      if (r.offsetBytes() > at) {
        long holeEnd = Math.min(r.offsetBytes(), end);
        add(extents, holeEnd - at, Nbd.STATE_HOLE | Nbd.STATE_ZERO);
        at = holeEnd;
      }
      if (at < end && extents.size() < limit) {
        long dataEnd = Math.min(r.endBytes(), end);
        if (dataEnd > at) {
          add(extents, dataEnd - at, 0);
          at = dataEnd;
        }
      }
    }
    if (at < end && extents.size() < limit) {
      add(extents, end - at, Nbd.STATE_HOLE | Nbd.STATE_ZERO);
    }
    while (extents.size() > limit) {
      extents.remove(extents.size() - 1);
    }
    ByteBuf b = chunkHeader(alloc, cookie, Nbd.REPLY_TYPE_BLOCK_STATUS, 4 + 8 * extents.size());
    b.writeInt(Nbd.BASE_ALLOCATION_ID);
    for (long[] x : extents) {
      b.writeInt((int) x[0]).writeInt((int) x[1]);
    }
    return b;
  }

  private static void add(List<long[]> extents, long length, int flags) {
    if (!extents.isEmpty() && extents.get(extents.size() - 1)[1] == flags) {
      extents.get(extents.size() - 1)[0] += length;
    } else {
      extents.add(new long[] {length, flags});
    }
  }

  private static ByteBuf simple(ByteBufAllocator alloc, long cookie, int error) {
    return alloc.buffer(16).writeInt(Nbd.SIMPLE_REPLY_MAGIC).writeInt(error).writeLong(cookie);
  }

  private static ByteBuf chunkHeader(ByteBufAllocator alloc, long cookie, int type, int length) {
    ByteBuf b = alloc.buffer(20 + length);
    b.writeInt(Nbd.STRUCTURED_REPLY_MAGIC).writeShort(Nbd.REPLY_FLAG_DONE).writeShort(type)
        .writeLong(cookie).writeInt(length);
    return b;
  }

  /** An error reply; structured replies carry {@code message} (at most 4096 bytes of it). */
  ByteBuf error(long cookie, int type, int error, @Nullable String message) {
    if (!structured) {
      return simple(alloc, cookie, error);
    }
    byte[] m = String.valueOf(message).getBytes(StandardCharsets.UTF_8);
    int n = Math.min(m.length, 4096);
    ByteBuf b = chunkHeader(alloc, cookie, Nbd.REPLY_TYPE_ERROR, 6 + n);
    b.writeInt(error).writeShort(n).writeBytes(m, 0, n);
    return b;
  }
}
