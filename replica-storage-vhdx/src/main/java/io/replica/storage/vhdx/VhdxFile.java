package io.replica.storage.vhdx;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.locks.ReentrantLock;
import io.replica.spi.storage.ByteRange;

/**
 * One open VHDX file and its parent chain: the format logic behind {@link VhdxDisk}.
 *
 * <p>Metadata (BAT pages, metadata sectors, region tables) changes only through the log: entry
 * written and flushed, headers naming the log, updates applied and flushed. Payload written to a
 * new block is flushed before the BAT change that makes it visible is logged, so a crash at any
 * point leaves the old or the new state. BAT changes collect in pinned pages until {@link
 * #flush()}. Payload I/O to allocated blocks runs outside the lock; BAT lookups and allocation take
 * it.
 */
final class VhdxFile implements Closeable {

  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(VhdxFile.class);
  static final long DEFAULT_BLOCK_SIZE = 32L * Le.MIB;
  static final long CHILD_BLOCK_SIZE = 2L * Le.MIB;
  private static final int CACHED_BAT_PAGES = 2048;
  private static final int DIRTY_PAGES_BEFORE_COMMIT = 1024;
  private static final int OVERLAY_SECTORS_MAX = 16 * 1024;
  private static final int MAX_CHAIN = 32;
  /**
   * Opening checks every BAT entry (see {@link BatScan}) when the BAT has at most this many: 16 MiB
   * read once, which covers 64 TiB at the 32 MiB blocks Hyper-V and qemu choose for large disks.
   * Larger BATs are checked entry by entry as blocks are read and written.
   */
  static final long OPEN_SCAN_ENTRIES_MAX = 2L * 1024 * 1024;
  private static final byte[] ZERO_SECTOR = new byte[Log.SECTOR];
  private static final byte[] ZERO_MIB = new byte[Le.MIB];

  final Path path;
  final FileIo io;
  private final ReentrantLock lock = new ReentrantLock();
  private volatile boolean writable;
  private boolean channelWritable = true;
  private Header header;
  private int currentSlot;
  private volatile RegionTable regions;
  private volatile Metadata meta;
  private volatile Bat bat;
  VhdxFile parent;
  private long nextFree;
  /** The file's length as last seen; it only grows while the file is open. */
  private volatile long knownLength;
  private volatile boolean sessionStarted;
  private boolean fileWriteUpdated;
  private UUID sessionLogGuid;
  private long logPos;
  private long logSeq = 1;
  private UUID presetDataWriteGuid;

  private VhdxFile(Path path, FileIo io, boolean writable, VhdxFile parent, Header header,
      int slot, RegionTable regions, Metadata meta, Bat bat, long nextFree) {
    this.path = path;
    this.io = io;
    this.writable = writable;
    this.parent = parent;
    this.header = header;
    this.currentSlot = slot;
    this.regions = regions;
    this.meta = meta;
    this.bat = bat;
    this.nextFree = nextFree;
  }

  // ---------------------------------------------------------------- opening

  /**
   * Opens {@code path} and its parent chain (read-only). With {@code channelWritable} the channel
   * can write even if {@code writable} is false, so that the handle can be upgraded later.
   */
  static VhdxFile open(Path path, boolean writable, boolean channelWritable) throws IOException {
    return open(path, writable, channelWritable, new HashSet<>());
  }

  private static VhdxFile open(
      Path path, boolean writable, boolean channelWritable, Set<Path> chain) throws IOException {
    if (!Files.isRegularFile(path)) {
      throw new NoSuchFileException(path.toString(), null, "no VHDX file there");
    }
    FileChannel ch;
    if (writable || channelWritable) {
      try {
        ch = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
      } catch (java.nio.file.AccessDeniedException e) {
        if (writable) {
          throw e;
        }
        // A read-only handle of a file we may not write: it just cannot be upgraded later.
        ch = FileChannel.open(path, StandardOpenOption.READ);
      }
    } else {
      ch = FileChannel.open(path, StandardOpenOption.READ);
    }
    try {
      VhdxFile f = open(path, ch, writable, chain, true);
      f.channelWritable = writable || channelWritable && ch.isOpen() && canWrite(ch);
      return f;
    } catch (IOException | RuntimeException | Error e) {
      ch.close();
      throw e;
    }
  }

  /**
   * Where a differencing file says its parent is, read without opening the parent; empty for a
   * file without a parent.
   */
  static List<Path> parentCandidatesOf(Path path) throws IOException {
    try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ);
        VhdxFile f = open(path, ch, false, null, false)) {
      return f.hasParent() ? f.parentCandidates() : List.of();
    }
  }

  /** Opens a file on a given channel; tests pass a channel that fails on purpose. */
  static VhdxFile open(Path path, FileChannel ch, boolean writable) throws IOException {
    return open(path, ch, writable, new HashSet<>(), true);
  }

  /**
   * Opens a file read-only on a given channel without checking its BAT entries first, for {@link
   * VhdxCheck}, which lists every bad entry instead of refusing at the first. Reads still refuse
   * bad entries.
   */
  static VhdxFile openUnscanned(Path path, FileChannel ch) throws IOException {
    return open(path, ch, false, new HashSet<>(), false);
  }

  private static VhdxFile open(
      Path path, FileChannel ch, boolean writable, Set<Path> chain, boolean scanBat)
      throws IOException {
    FileIo io = new FileIo(path, ch);
    long fileSize = io.size();
    if (fileSize < 320L * Le.KIB || !Le.signature(io.read(0, 8), 0, "vhdxfile")) {
      throw new CorruptDiskException(
          path, "file type identifier", 0,
          "the file does not start with 'vhdxfile' and a header section; it is not a VHDX file");
    }
    Header[] headers = new Header[2];
    CorruptDiskException[] problems = new CorruptDiskException[2];
    byte[][] raw = new byte[2][];
    for (int slot = 0; slot < 2; slot++) {
      raw[slot] = io.read(Header.offsetOf(slot), Header.SIZE);
      try {
        headers[slot] =
            Header.parse(path, raw[slot], Header.offsetOf(slot), "header " + (slot + 1));
      } catch (CorruptDiskException e) {
        problems[slot] = e;
      }
    }
    int slot;
    if (headers[0] == null && headers[1] == null) {
      throw new CorruptDiskException(
          path, "header 1", Header.OFFSET_1,
          "neither header is valid: " + problems[0].getMessage() + "; "
              + problems[1].getMessage());
    } else if (headers[1] == null) {
      slot = 0;
    } else if (headers[0] == null) {
      slot = 1;
    } else if (headers[0].sequenceNumber() == headers[1].sequenceNumber()) {
      if (!Arrays.equals(raw[0], raw[1])) {
        throw new CorruptDiskException(
            path, "header 2", Header.OFFSET_2,
            "both headers are valid with the same sequence number but differ");
      }
      slot = 0;
    } else {
      slot = Long.compareUnsigned(headers[0].sequenceNumber(), headers[1].sequenceNumber()) > 0
          ? 0 : 1;
    }
    Header header = headers[slot];
    String headerName = "header " + (slot + 1);
    header.checkLogFields(path, Header.offsetOf(slot), headerName);
    if (!header.logEmpty() && header.logOffsetBytes() + header.logLengthBytes() > fileSize) {
      throw new CorruptDiskException(
          path, headerName, Header.offsetOf(slot) + 68,
          "the log at " + header.logOffsetBytes() + " of " + header.logLengthBytes()
              + " bytes lies past the end of the " + fileSize + "-byte file");
    }
    VhdxFile f = new VhdxFile(path, io, writable, null, header, slot, null, null, null, 0);
    if (!header.logEmpty()) {
      f.replayLog();
    }
    f.load(chain, scanBat);
    if (writable && f.parent != null) {
      try {
        f.refreshParentLocator();
      } catch (IOException | RuntimeException | Error e) {
        try {
          f.close();
        } catch (IOException second) {
          e.addSuppressed(second);
        }
        throw e;
      }
    }
    return f;
  }

  private void replayLog() throws IOException {
    Log log = new Log(io, header);
    List<Log.Entry> sequence = log.activeSequence();
    LOG.info("VHDX file '{}' was not closed cleanly; replaying {} log entries {}", path,
        sequence.size(), writable ? "into the file" : "in memory (read-only open)");
    if (writable) {
      startSession(false);
      long last = log.replay(sequence, new Log.Sink() {
        @Override
        public void sector(long fileOffset, byte[] sector) throws IOException {
          io.write(fileOffset, sector);
        }

        @Override
        public void zeros(long fileOffset, long length) throws IOException {
          for (long done = 0; done < length; done += Le.MIB) {
            io.write(fileOffset + done,
                ByteBuffer.wrap(ZERO_MIB, 0, (int) Math.min(Le.MIB, length - done)));
          }
        }
      });
      if (io.size() < last) {
        io.write(last - 1, new byte[1]);
      }
      io.force();
      writeHeaders(header.fileWriteGuid(), header.dataWriteGuid(), Le.ZERO_GUID);
    } else {
      long last = log.replay(sequence, new Log.Sink() {
        @Override
        public void sector(long fileOffset, byte[] sector) throws IOException {
          overlay(fileOffset, sector);
        }

        @Override
        public void zeros(long fileOffset, long length) throws IOException {
          for (long done = 0; done < length; done += Log.SECTOR) {
            overlay(fileOffset + done, ZERO_SECTOR);
          }
        }
      });
      io.replayedTo(last);
    }
  }

  private void overlay(long fileOffset, byte[] sector) throws IOException {
    if (io.overlaySectors() >= OVERLAY_SECTORS_MAX) {
      throw new IOException(
          "the log of VHDX file '" + path + "' needs replay and holds more than "
              + OVERLAY_SECTORS_MAX + " sectors, too many to replay in memory for a read-only"
              + " open; open it writable once to replay it into the file");
    }
    io.overlay(fileOffset, sector);
  }

  private VhdxFile load(Set<Path> chain, boolean scanBat) throws IOException {
    RegionTable table;
    try {
      table = RegionTable.parse(path, io.read(RegionTable.OFFSET_1, RegionTable.SIZE),
          RegionTable.OFFSET_1, "region table 1");
    } catch (CorruptDiskException first) {
      try {
        table = RegionTable.parse(path, io.read(RegionTable.OFFSET_2, RegionTable.SIZE),
            RegionTable.OFFSET_2, "region table 2");
      } catch (CorruptDiskException second) {
        first.addSuppressed(second);
        throw first;
      }
    }
    long logEnd = header.logOffsetBytes() + header.logLengthBytes();
    for (RegionTable.Entry e : table.entries()) {
      if (header.logLengthBytes() > 0 && e.fileOffset() < logEnd
          && header.logOffsetBytes() < e.end()) {
        throw new CorruptDiskException(
            path, "region table", RegionTable.OFFSET_1,
            "region " + e.guid() + " overlaps the log");
      }
    }
    RegionTable.Entry metaRegion = table.find(RegionTable.METADATA);
    if (metaRegion.end() > io.size()) {
      throw new CorruptDiskException(
          path, "region table", RegionTable.OFFSET_1,
          "the metadata region ends at " + metaRegion.end() + ", past the end of the "
              + io.size() + "-byte file");
    }
    Metadata m = Metadata.parse(path, io::read, metaRegion.fileOffset(), metaRegion.length());
    RegionTable.Entry batRegion = table.find(RegionTable.BAT);
    long needed = m.batEntries() * 8;
    if (batRegion.length() < needed) {
      throw new CorruptDiskException(
          path, "region table", RegionTable.OFFSET_1,
          "the BAT region is " + batRegion.length() + " bytes but the geometry needs "
              + needed);
    }
    if (batRegion.fileOffset() > io.length() - needed) {
      // Past the end the BAT would read as zeros: a disk of unallocated blocks.
      throw new CorruptDiskException(
          path, "region table", RegionTable.OFFSET_1,
          "the BAT at " + batRegion.fileOffset() + " needs " + needed + " bytes but the file"
              + " ends at " + io.length() + "; the file was probably truncated");
    }
    this.regions = table;
    this.meta = m;
    this.bat = new Bat(io, batRegion.fileOffset(), batRegion.length(), CACHED_BAT_PAGES);
    long end = Math.max(io.length(), logEnd);
    for (RegionTable.Entry e : table.entries()) {
      end = Math.max(end, e.end());
    }
    this.nextFree = roundUp(end, Le.MIB);
    this.knownLength = io.length();
    if (scanBat && m.batEntries() <= OPEN_SCAN_ENTRIES_MAX) {
      BatScan.scan(io, batRegion.fileOffset(), m, header, table, knownLength,
          (index, problem) -> {
            throw new CorruptDiskException(path, "BAT entry " + index, bat.entryOffset(index),
                problem);
          });
    }
    if (m.hasParent() && chain != null) {
      this.parent = openParent(chain);
    }
    return this;
  }

  private VhdxFile openParent(Set<Path> chain) throws IOException {
    Path me = path.toAbsolutePath().normalize();
    if (!chain.add(me) || chain.size() > MAX_CHAIN) {
      throw new CorruptDiskException(
          path, "parent locator", meta.parentLocatorFileOffset(),
          "the parent chain loops or is longer than " + MAX_CHAIN + " files");
    }
    List<Path> tried = new ArrayList<>();
    for (Path candidate : parentCandidates()) {
      tried.add(candidate);
      if (!Files.isRegularFile(candidate)) {
        continue;
      }
      VhdxFile p = open(candidate, false, false, chain);
      try {
        // Both are contradictions between the child's metadata and its parent: corruption of
        // the chain, whichever of the two files changed.
        if (!meta.parentLocator().linksTo(p.header.dataWriteGuid())) {
          throw new CorruptDiskException(
              path, "parent locator", meta.parentLocatorFileOffset(),
              "it expects parent DataWriteGuid "
                  + meta.parentLocator().entries().get("parent_linkage") + " but '" + candidate
                  + "' has " + p.header.dataWriteGuid()
                  + "; the parent was modified after the child was created, so the chain is"
                  + " broken (restore the parent or discard the child)");
        }
        if (p.meta.logicalSectorSizeBytes() != meta.logicalSectorSizeBytes()) {
          throw new CorruptDiskException(
              path, "logical sector size", meta.logicalSectorSizeFileOffset(),
              "the differencing disk has " + meta.logicalSectorSizeBytes()
                  + "-byte sectors but its parent '" + candidate + "' has "
                  + p.meta.logicalSectorSizeBytes() + "; they must match");
        }
        return p;
      } catch (IOException | RuntimeException e) {
        p.close();
        throw e;
      }
    }
    throw new NoSuchFileException(
        path.toString(), null,
        "the parent of this differencing disk was not found at " + tried
            + "; put it back or discard the child");
  }

  /** Where the locator says the parent is: relative path first, then the absolute one. */
  List<Path> parentCandidates() {
    List<Path> out = new ArrayList<>();
    Map<String, String> e = meta.parentLocator().entries();
    for (String key : ParentPaths.KEYS) {
      Path candidate = ParentPaths.resolve(path, key, e.get(key));
      if (candidate != null) {
        out.add(candidate);
      }
    }
    return out;
  }

  /**
   * After the parent was found through one locator entry, rewrites the path entries that lead
   * elsewhere or are missing, as Hyper-V does: a pair moved together still finds its parent
   * through the relative path and a child moved alone through the absolute one, and either kind
   * of move works again next time. Goes through the log like any metadata update. The
   * DataWriteGuid stays: reads return the same data, and a child of this file links to it.
   */
  private void refreshParentLocator() throws IOException {
    Map<String, String> current = meta.parentLocator().entries();
    Map<String, String> kv = new LinkedHashMap<>(current);
    List<String> stale = new ArrayList<>();
    for (Map.Entry<String, String> fresh : ParentPaths.of(path, parent.path).entrySet()) {
      Path at = ParentPaths.resolve(path, fresh.getKey(), current.get(fresh.getKey()));
      if (at == null || !sameFile(at, parent.path)) {
        kv.put(fresh.getKey(), fresh.getValue());
        stale.add(fresh.getKey());
      }
    }
    if (stale.isEmpty()) {
      return;
    }
    lock.lock();
    try {
      if (!rewriteParentLocator(kv)) {
        LOG.warn("VHDX file '{}' found its parent '{}' but has no room in its metadata region to"
            + " update the stale locator entries {}; they stay as they are", path, parent.path,
            stale);
        return;
      }
    } finally {
      lock.unlock();
    }
    LOG.info("VHDX file '{}' found its parent at '{}'; updated the locator entries {}", path,
        parent.path, stale);
  }

  private static boolean sameFile(Path a, Path b) {
    try {
      return a.equals(b) || Files.isSameFile(a, b);
    } catch (IOException e) {
      return false;
    }
  }

  // ---------------------------------------------------------------- creating

  /** What to create: geometry, kind, and for a child its parent's identity. */
  record Options(long sizeBytes, int logicalSectorBytes, int physicalSectorBytes,
      long blockSizeBytes, boolean fixed, ParentLocator locator, UUID diskId) {}

  static void create(Path path, Options o) throws IOException {
    if (!Le.isPowerOfTwo(o.blockSizeBytes) || o.blockSizeBytes < Le.MIB
        || o.blockSizeBytes > 256L * Le.MIB) {
      throw new IllegalArgumentException(
          "block size " + o.blockSizeBytes + " is invalid; use a power of two from 1 MiB to"
              + " 256 MiB");
    }
    if (o.sizeBytes <= 0 || o.sizeBytes > Metadata.MAX_VIRTUAL_SIZE
        || o.sizeBytes % o.logicalSectorBytes != 0) {
      throw new IllegalArgumentException(
          "virtual size " + o.sizeBytes + " is invalid; use a positive multiple of the logical"
              + " sector size " + o.logicalSectorBytes + " up to 64 TiB");
    }
    boolean child = o.locator != null;
    int chunkRatio = (int) ((1L << 23) * o.logicalSectorBytes / o.blockSizeBytes);
    long dataBlocks = (o.sizeBytes + o.blockSizeBytes - 1) / o.blockSizeBytes;
    // Room for sector bitmap entries too, so that the file can become a parent or a child.
    long entries = Metadata.batEntries(dataBlocks, chunkRatio, true);
    long logOffset = Le.MIB;
    long logLength = Le.MIB;
    long metaOffset = 2L * Le.MIB;
    long batOffset = 3L * Le.MIB;
    long batLength = roundUp(entries * 8, Le.MIB);
    long dataStart = batOffset + batLength;
    try (FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE_NEW,
        StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      FileIo io = new FileIo(path, ch);
      byte[] ident = new byte[64 * Le.KIB];
      Le.putSignature(ident, 0, "vhdxfile");
      byte[] creator = "Replica".getBytes(StandardCharsets.UTF_16LE);
      System.arraycopy(creator, 0, ident, 8, creator.length);
      io.write(0, ident);
      io.write(metaOffset,
          Metadata.encodeRegion(o.blockSizeBytes, o.fixed, o.sizeBytes,
              o.diskId != null ? o.diskId : UUID.randomUUID(), o.logicalSectorBytes,
              o.physicalSectorBytes, o.locator));
      long end = dataStart;
      if (o.fixed && !child) {
        byte[] page = new byte[Le.MIB];
        long written = 0;
        for (long block = 0; block < dataBlocks; block++) {
          long index = block + block / chunkRatio;
          long at = index * 8;
          while (at >= written + page.length) {
            io.write(batOffset + written, page);
            Arrays.fill(page, (byte) 0);
            written += page.length;
          }
          Le.put64(page, (int) (at - written), (dataStart + block * o.blockSizeBytes)
              | Bat.FULLY_PRESENT);
        }
        io.write(batOffset + written, page);
        end = dataStart + dataBlocks * o.blockSizeBytes;
      }
      io.write(end - 1, new byte[1]);
      List<RegionTable.Entry> entriesList = List.of(
          new RegionTable.Entry(RegionTable.BAT, batOffset, batLength, true),
          new RegionTable.Entry(RegionTable.METADATA, metaOffset, Le.MIB, true));
      byte[] table = new RegionTable(entriesList).encode();
      io.write(RegionTable.OFFSET_1, table);
      io.write(RegionTable.OFFSET_2, table);
      io.force();
      UUID fileWrite = UUID.randomUUID();
      UUID dataWrite = UUID.randomUUID();
      Header h = new Header(1, fileWrite, dataWrite, Le.ZERO_GUID, 0, 1, logLength, logOffset);
      io.write(Header.OFFSET_1, h.encode());
      io.write(Header.OFFSET_2, h.next(fileWrite, dataWrite, Le.ZERO_GUID).encode());
      io.force();
    } catch (IOException | RuntimeException e) {
      if (!(e instanceof java.nio.file.FileAlreadyExistsException)) {
        Files.deleteIfExists(path);
      }
      throw e;
    }
  }

  /** Creates a differencing child of {@code parentPath} at {@code childPath}. */
  static void createChild(Path childPath, Path parentPath) throws IOException {
    try (VhdxFile p = open(parentPath, false, false)) {
      Map<String, String> kv = new LinkedHashMap<>();
      kv.put("parent_linkage", ParentLocator.linkage(p.header.dataWriteGuid()));
      kv.putAll(ParentPaths.of(childPath, parentPath));
      create(childPath,
          new Options(p.meta.virtualSizeBytes(), p.meta.logicalSectorSizeBytes(),
              p.meta.physicalSectorSizeBytes(), CHILD_BLOCK_SIZE, false,
              new ParentLocator(ParentLocator.VHDX_TYPE, kv), p.meta.virtualDiskId()));
    }
  }

  // ---------------------------------------------------------------- geometry

  long sizeBytes() {
    return meta.virtualSizeBytes();
  }

  int logicalSectorSize() {
    return meta.logicalSectorSizeBytes();
  }

  int physicalSectorSize() {
    return meta.physicalSectorSizeBytes();
  }

  long blockSize() {
    return meta.blockSizeBytes();
  }

  boolean isFixed() {
    return meta.leaveBlocksAllocated();
  }

  boolean hasParent() {
    return meta.hasParent();
  }

  boolean isWritable() {
    return writable;
  }

  Header header() {
    return header;
  }

  Metadata metadata() {
    return meta;
  }

  RegionTable regions() {
    return regions;
  }

  private long batIndex(long block) {
    return block + block / meta.chunkRatio();
  }

  private long bitmapIndex(long block) {
    int cr = meta.chunkRatio();
    return block / cr * (cr + 1) + cr;
  }

  /** The BAT entry of payload block {@code block}, checked; the caller holds the lock. */
  private long entry(long block) throws IOException {
    long index = batIndex(block);
    long e = bat.get(index);
    if ((e & BatScan.RESERVED_BITS) != 0) {
      throw new CorruptDiskException(
          path, "BAT entry " + index, bat.entryOffset(index),
          "block " + block + " has reserved bits set (entry 0x" + Long.toHexString(e)
              + "; bits 3 to 19 must be zero)");
    }
    int state = Bat.state(e);
    switch (state) {
      case Bat.NOT_PRESENT:
      case Bat.UNDEFINED:
      case Bat.ZERO:
      case Bat.UNMAPPED:
      case 5:
        return e;
      case Bat.FULLY_PRESENT:
      case Bat.PARTIALLY_PRESENT:
        long off = Bat.offset(e);
        if (state == Bat.PARTIALLY_PRESENT && !meta.hasParent()) {
          throw new CorruptDiskException(
              path, "BAT entry " + index, bat.entryOffset(index),
              "block " + block + " is PARTIALLY_PRESENT in a file without a parent");
        }
        if (off < Le.MIB || off + meta.blockSizeBytes() > (1L << 52)) {
          throw new CorruptDiskException(
              path, "BAT entry " + index, bat.entryOffset(index),
              "block " + block + " points at file offset " + off
                  + ", inside the header section or beyond 4 PiB");
        }
        long bs = meta.blockSizeBytes();
        requireInFile(index, "block " + block, off,
            Math.min(bs, meta.virtualSizeBytes() - block * bs));
        return e;
      default:
        throw new CorruptDiskException(
            path, "BAT entry " + index, bat.entryOffset(index),
            "block " + block + " has the reserved state " + state);
    }
  }

  /**
   * Refuses a block or sector bitmap whose bytes lie (partly) past the end of the file: reading
   * them would invent zeros for data that is not there, and writing them would let the file
   * grow under blocks allocated later.
   */
  private void requireInFile(long index, String what, long off, long length) throws IOException {
    // Subtracting keeps an offset near 2^63 from wrapping around.
    if (off > knownLength - length) {
      knownLength = io.length();
      if (off > knownLength - length) {
        throw new CorruptDiskException(
            path, "BAT entry " + index, bat.entryOffset(index),
            what + " at file offset " + off + " of " + length + " bytes ends past the end of the "
                + knownLength + "-byte file; the file was probably truncated");
      }
    }
  }

  private long lookup(long block) throws IOException {
    lock.lock();
    try {
      return entry(block);
    } finally {
      lock.unlock();
    }
  }

  // ---------------------------------------------------------------- reading

  /** Reads virtual bytes; the range is sector-aligned, and parts beyond the size read zeros. */
  void read(long offset, ByteBuffer dst) throws IOException {
    long bs = meta.blockSizeBytes();
    while (dst.hasRemaining()) {
      if (offset >= meta.virtualSizeBytes()) {
        zero(dst, dst.remaining());
        return;
      }
      long block = offset / bs;
      long inBlock = offset % bs;
      int n = (int) Math.min(dst.remaining(),
          Math.min(bs - inBlock, meta.virtualSizeBytes() - offset));
      ByteBuffer piece = dst.duplicate();
      piece.limit(piece.position() + n);
      long e = lookup(block);
      switch (Bat.state(e)) {
        case Bat.FULLY_PRESENT:
          io.read(Bat.offset(e) + inBlock, piece);
          break;
        case Bat.PARTIALLY_PRESENT:
          readPartial(block, e, offset, piece);
          break;
        case Bat.NOT_PRESENT:
          if (parent != null) {
            parent.read(offset, piece);
          } else {
            zero(piece, n);
          }
          break;
        default:
          zero(piece, n);
      }
      dst.position(dst.position() + n);
      offset += n;
    }
  }

  private void readPartial(long block, long e, long offset, ByteBuffer piece) throws IOException {
    long bitmapEntry;
    long index = bitmapIndex(block);
    lock.lock();
    try {
      bitmapEntry = bat.get(index);
    } finally {
      lock.unlock();
    }
    if (Bat.state(bitmapEntry) != Bat.SB_PRESENT || Bat.offset(bitmapEntry) < Le.MIB
        || (bitmapEntry & BatScan.RESERVED_BITS) != 0) {
      throw new CorruptDiskException(
          path, "BAT entry " + index, bat.entryOffset(index),
          "block " + block + " is PARTIALLY_PRESENT but its sector bitmap is not present (entry 0x"
              + Long.toHexString(bitmapEntry) + ")");
    }
    requireInFile(index, "the sector bitmap of block " + block, Bat.offset(bitmapEntry), Le.MIB);
    int sector = meta.logicalSectorSizeBytes();
    long bs = meta.blockSizeBytes();
    long sectorsPerBlock = bs / sector;
    long firstBit = block % meta.chunkRatio() * sectorsPerBlock;
    long inBlock = offset % bs;
    long s0 = inBlock / sector;
    long count = piece.remaining() / sector;
    long byte0 = (firstBit + s0) / 8;
    long byte1 = (firstBit + s0 + count - 1) / 8;
    byte[] bits;
    lock.lock();
    try {
      bits = bat.bytes(Bat.offset(bitmapEntry) + byte0, (int) (byte1 - byte0 + 1));
    } finally {
      lock.unlock();
    }
    long i = 0;
    while (i < count) {
      boolean present = bit(bits, firstBit + s0 + i - byte0 * 8);
      long j = i + 1;
      while (j < count && bit(bits, firstBit + s0 + j - byte0 * 8) == present) {
        j++;
      }
      ByteBuffer run = piece.duplicate();
      run.position((int) (piece.position() + i * sector));
      run.limit((int) (piece.position() + j * sector));
      long virtual = offset + i * sector;
      if (present) {
        io.read(Bat.offset(e) + virtual % bs, run);
      } else {
        parent.read(virtual, run);
      }
      i = j;
    }
  }

  private static boolean bit(byte[] bits, long index) {
    return (bits[(int) (index / 8)] >> (index % 8) & 1) != 0;
  }

  private static void zero(ByteBuffer b, int n) {
    ByteBuffer d = b.duplicate();
    while (n > 0) {
      int k = Math.min(n, ZERO_MIB.length);
      d.put(ZERO_MIB, 0, k);
      n -= k;
    }
  }

  // ---------------------------------------------------------------- writing

  private static boolean canWrite(FileChannel ch) {
    try {
      ch.write(ByteBuffer.allocate(0), 0);
      return true;
    } catch (java.nio.channels.NonWritableChannelException | IOException e) {
      return false;
    }
  }

  void upgradeToWritable() throws IOException {
    lock.lock();
    try {
      if (!writable && !channelWritable) {
        throw new java.nio.file.AccessDeniedException(
            path.toString(), null, "the file is open read-only and may not be written");
      }
      if (!writable) {
        writable = true;
        if (io.overlaySectors() > 0) {
          startSession(false);
          io.applyOverlayToFile();
          io.force();
          writeHeaders(header.fileWriteGuid(), header.dataWriteGuid(), Le.ZERO_GUID);
        }
        if (parent != null) {
          refreshParentLocator();
        }
      }
    } finally {
      lock.unlock();
    }
  }

  /** Used by merge: the DataWriteGuid the first change of this session gives the file. */
  void presetDataWriteGuid(UUID guid) {
    this.presetDataWriteGuid = guid;
  }

  /**
   * The first change of a writable open: new FileWriteGuid and (with {@code userVisible})
   * DataWriteGuid in both headers, before anything else in the file changes.
   */
  private void startSession(boolean userVisible) throws IOException {
    if (sessionStarted || (!userVisible && fileWriteUpdated)) {
      return;
    }
    UUID dataWrite = header.dataWriteGuid();
    if (userVisible) {
      dataWrite = presetDataWriteGuid != null ? presetDataWriteGuid : UUID.randomUUID();
    }
    UUID fileWrite = fileWriteUpdated ? header.fileWriteGuid() : UUID.randomUUID();
    writeHeaders(fileWrite, dataWrite, header.logGuid());
    fileWriteUpdated = true;
    sessionStarted = userVisible;
  }

  private void writeHeaders(UUID fileWrite, UUID dataWrite, UUID logGuid) throws IOException {
    for (int i = 0; i < 2; i++) {
      Header next = header.next(fileWrite, dataWrite, logGuid);
      int slot = 1 - currentSlot;
      io.write(Header.offsetOf(slot), next.encode());
      io.force();
      header = next;
      currentSlot = slot;
    }
  }

  void write(long offset, ByteBuffer src) throws IOException {
    long bs = meta.blockSizeBytes();
    if (!sessionStarted) {
      lock.lock();
      try {
        startSession(true);
      } finally {
        lock.unlock();
      }
    }
    while (src.hasRemaining()) {
      long block = offset / bs;
      long inBlock = offset % bs;
      int n = (int) Math.min(src.remaining(), bs - inBlock);
      ByteBuffer piece = src.duplicate();
      piece.limit(piece.position() + n);
      long e = lookup(block);
      if (Bat.state(e) == Bat.FULLY_PRESENT) {
        io.write(Bat.offset(e) + inBlock, piece);
      } else {
        long target = -1;
        lock.lock();
        try {
          e = entry(block);
          int state = Bat.state(e);
          if (state == Bat.FULLY_PRESENT) {
            target = Bat.offset(e) + inBlock;
          } else if (parent == null
              || (state != Bat.NOT_PRESENT && state != Bat.PARTIALLY_PRESENT)
              || (state == Bat.NOT_PRESENT && inBlock == 0
                  && n >= Math.min(bs, meta.virtualSizeBytes() - block * bs))) {
            // These states read as zeros, and so does fresh space, and a block written whole
            // needs nothing from the parent: the block can be published before its data lands,
            // and the data written without holding up other writers.
            target = reserve(block) + inBlock;
          } else {
            writePartial(block, e, inBlock, piece);
          }
        } finally {
          lock.unlock();
        }
        if (target >= 0) {
          io.write(target, piece);
        }
      }
      src.position(src.position() + n);
      offset += n;
    }
  }

  /** Gives a block fresh space (reading as zeros) and publishes it; the caller holds the lock. */
  private long reserve(long block) throws IOException {
    long bs = meta.blockSizeBytes();
    long fileOffset = nextFree;
    nextFree += bs;
    io.write(fileOffset + bs - 1, ByteBuffer.wrap(new byte[1]));
    bat.set(batIndex(block), fileOffset | Bat.FULLY_PRESENT);
    if (bat.dirtyPages() >= DIRTY_PAGES_BEFORE_COMMIT) {
      commitBat();
    }
    return fileOffset;
  }

  /**
   * Writes into a block of a differencing file that defers (partly) to the parent: the block gets
   * space and its chunk a sector bitmap if needed, the data lands in the block, and the written
   * sectors' bits are set. The bitmap and BAT changes wait in pinned pages for the next flush,
   * which writes them through the log after the data. The caller holds the lock.
   */
  private void writePartial(long block, long e, long inBlock, ByteBuffer piece)
      throws IOException {
    long bs = meta.blockSizeBytes();
    long sbIndex = bitmapIndex(block);
    long sb = bat.get(sbIndex);
    if (Bat.state(sb) != Bat.SB_PRESENT) {
      long sbOffset = nextFree;
      nextFree += Le.MIB;
      io.write(sbOffset + Le.MIB - 1, ByteBuffer.wrap(new byte[1]));
      sb = sbOffset | Bat.SB_PRESENT;
      bat.set(sbIndex, sb);
    }
    long payload;
    if (Bat.state(e) == Bat.PARTIALLY_PRESENT) {
      payload = Bat.offset(e);
    } else {
      payload = nextFree;
      nextFree += bs;
      io.write(payload + bs - 1, ByteBuffer.wrap(new byte[1]));
      bat.set(batIndex(block), payload | Bat.PARTIALLY_PRESENT);
    }
    int sector = meta.logicalSectorSizeBytes();
    long firstBit = block % meta.chunkRatio() * (bs / sector) + inBlock / sector;
    long bits = piece.remaining() / sector;
    io.write(payload + inBlock, piece);
    long base = Bat.offset(sb);
    for (long b = firstBit; b < firstBit + bits; ) {
      long byteAt = base + b / 8;
      long pageOffset = byteAt - byteAt % Bat.PAGE;
      byte[] page = bat.pageForUpdate(pageOffset);
      long pageEndBit = (pageOffset - base + Bat.PAGE) * 8;
      for (; b < firstBit + bits && b < pageEndBit; b++) {
        int at = (int) (base + b / 8 - pageOffset);
        page[at] |= (byte) (1 << (b % 8));
      }
    }
    if (bat.dirtyPages() >= DIRTY_PAGES_BEFORE_COMMIT) {
      commitBat();
    }
  }

  void flush() throws IOException {
    // Most of the data goes to the medium here, without holding up writers on the lock.
    io.force();
    lock.lock();
    try {
      if (bat.dirtyPages() > 0) {
        commitBat();
      }
    } finally {
      lock.unlock();
    }
  }

  private void commitBat() throws IOException {
    io.force();
    commit(new TreeMap<>(bat.dirty()));
    bat.clean();
  }

  /**
   * Puts 4 KiB sector updates into the file through the log: entry, flush, headers naming the
   * log (once per session), apply, flush.
   */
  private void commit(TreeMap<Long, byte[]> updates) throws IOException {
    int max = Log.maxUpdatesPerEntry(header.logLengthBytes());
    if (max < 1) {
      throw new IOException(
          "VHDX file '" + path + "' has a log of " + header.logLengthBytes() + " bytes, too"
              + " small to update its metadata safely; nothing was changed");
    }
    while (!updates.isEmpty()) {
      TreeMap<Long, byte[]> chunk = new TreeMap<>();
      while (!updates.isEmpty() && chunk.size() < max) {
        Map.Entry<Long, byte[]> first = updates.pollFirstEntry();
        chunk.put(first.getKey(), first.getValue());
      }
      if (sessionLogGuid == null) {
        sessionLogGuid = UUID.randomUUID();
        logPos = 0;
        logSeq = 1;
      }
      long fileSize = io.size();
      int length = ((chunk.size() + 2 + 127) / 128 + chunk.size()) * Log.SECTOR;
      if (logPos + length > header.logLengthBytes()) {
        logPos = 0;
      }
      byte[] entry = Log.buildEntry(sessionLogGuid, logSeq, logPos, chunk,
          fileSize - fileSize % Le.MIB, roundUp(Math.max(fileSize, nextFree), Le.MIB));
      io.write(header.logOffsetBytes() + logPos, entry);
      io.force();
      if (!header.logGuid().equals(sessionLogGuid)) {
        writeHeaders(header.fileWriteGuid(), header.dataWriteGuid(), sessionLogGuid);
      }
      for (Map.Entry<Long, byte[]> u : chunk.entrySet()) {
        io.write(u.getKey(), u.getValue());
      }
      io.force();
      logPos += length;
      logSeq++;
    }
  }

  // ---------------------------------------------------------------- trim, ranges, grow

  void trim(long offset, long length) throws IOException {
    lock.lock();
    try {
      startSession(true);
      long bs = meta.blockSizeBytes();
      long end = offset + length;
      while (offset < end) {
        long block = offset / bs;
        long blockStart = block * bs;
        long blockEnd = Math.min(blockStart + bs, meta.virtualSizeBytes());
        long to = Math.min(end, blockEnd);
        long e = entry(block);
        int state = Bat.state(e);
        boolean whole = offset == blockStart && to == blockEnd;
        if (whole && !meta.leaveBlocksAllocated()) {
          if (state != Bat.ZERO) {
            bat.set(batIndex(block), Bat.ZERO);
          }
        } else if (state == Bat.FULLY_PRESENT) {
          for (long at = offset; at < to; at += Le.MIB) {
            io.write(Bat.offset(e) + at - blockStart,
                ByteBuffer.wrap(ZERO_MIB, 0, (int) Math.min(Le.MIB, to - at)));
          }
        } else if (state == Bat.PARTIALLY_PRESENT
            || (state == Bat.NOT_PRESENT && parent != null)) {
          for (long at = offset; at < to; at += Le.MIB) {
            ByteBuffer zeros = ByteBuffer.wrap(ZERO_MIB, 0, (int) Math.min(Le.MIB, to - at));
            writePartial(block, entry(block), at - blockStart, zeros);
          }
        }
        offset = to;
      }
    } finally {
      lock.unlock();
    }
  }

  /** Ranges that may hold non-zero data: own blocks, and the parent's where this file defers. */
  List<ByteRange> allocatedRanges() throws IOException {
    List<ByteRange> parentRanges = parent != null ? parent.allocatedRanges() : List.of();
    int pi = 0;
    List<ByteRange> out = new ArrayList<>();
    long bs = meta.blockSizeBytes();
    long size = meta.virtualSizeBytes();
    long blocks = meta.dataBlocks();
    int[] states = new int[4096];
    for (long first = 0; first < blocks; first += states.length) {
      int n = (int) Math.min(states.length, blocks - first);
      lock.lock();
      try {
        for (int i = 0; i < n; i++) {
          states[i] = Bat.state(entry(first + i));
        }
      } finally {
        lock.unlock();
      }
      for (int i = 0; i < n; i++) {
        long block = first + i;
        long start = block * bs;
        long end = Math.min(start + bs, size);
        int state = states[i];
        if (state == Bat.FULLY_PRESENT || state == Bat.PARTIALLY_PRESENT) {
          add(out, start, end);
        }
        if ((state == Bat.NOT_PRESENT || state == Bat.PARTIALLY_PRESENT) && parent != null) {
          while (pi < parentRanges.size() && parentRanges.get(pi).endBytes() <= start) {
            pi++;
          }
          for (int k = pi;
              k < parentRanges.size() && parentRanges.get(k).offsetBytes() < end; k++) {
            ByteRange r = parentRanges.get(k);
            add(out, Math.max(r.offsetBytes(), start), Math.min(r.endBytes(), end));
          }
        }
      }
    }
    return out;
  }

  private static void add(List<ByteRange> out, long start, long end) {
    if (end <= start) {
      return;
    }
    if (!out.isEmpty()) {
      ByteRange last = out.get(out.size() - 1);
      if (last.endBytes() >= start) {
        out.set(out.size() - 1,
            new ByteRange(last.offsetBytes(), Math.max(last.endBytes(), end) - last.offsetBytes()));
        return;
      }
    }
    out.add(new ByteRange(start, end - start));
  }

  /** Makes the disk larger; new space reads as zeros (or as the parent, for a child). */
  void grow(long newSize) throws IOException {
    lock.lock();
    try {
      if (newSize < meta.virtualSizeBytes() || newSize > Metadata.MAX_VIRTUAL_SIZE
          || newSize % meta.logicalSectorSizeBytes() != 0) {
        throw new IllegalArgumentException(
            "new size " + newSize + " of '" + path + "' is invalid; use a multiple of "
                + meta.logicalSectorSizeBytes() + " from the current size "
                + meta.virtualSizeBytes() + " up to 64 TiB");
      }
      if (newSize == meta.virtualSizeBytes()) {
        return;
      }
      startSession(true);
      long bs = meta.blockSizeBytes();
      int cr = meta.chunkRatio();
      long oldBlocks = meta.dataBlocks();
      long newBlocks = (newSize + bs - 1) / bs;
      long needed = Metadata.batEntries(newBlocks, cr, true) * 8;
      TreeMap<Long, byte[]> updates = new TreeMap<>();
      if (needed > bat.regionLength) {
        if (bat.dirtyPages() > 0) {
          commitBat();
        }
        long newLength = roundUp(needed, Le.MIB);
        long newOffset = nextFree;
        nextFree += newLength;
        for (long at = 0; at < bat.regionLength; at += Le.MIB) {
          io.write(newOffset + at, io.read(bat.fileOffset + at, Le.MIB));
        }
        io.write(newOffset + newLength - 1, ByteBuffer.wrap(new byte[1]));
        io.force();
        RegionTable next =
            regions.with(new RegionTable.Entry(RegionTable.BAT, newOffset, newLength, true));
        byte[] table = next.encode();
        for (int i = 0; i < RegionTable.SIZE; i += Log.SECTOR) {
          updates.put(RegionTable.OFFSET_1 + i, Arrays.copyOfRange(table, i, i + Log.SECTOR));
          updates.put(RegionTable.OFFSET_2 + i, Arrays.copyOfRange(table, i, i + Log.SECTOR));
        }
        regions = next;
      }
      long at = meta.virtualSizeFileOffset();
      for (long s = at - at % Log.SECTOR; s < at + 8; s += Log.SECTOR) {
        updates.put(s, io.read(s, Log.SECTOR));
      }
      byte[] sizeBytes = new byte[8];
      Le.put64(sizeBytes, 0, newSize);
      for (int i = 0; i < 8; i++) {
        long p = at + i;
        updates.get(p - p % Log.SECTOR)[(int) (p % Log.SECTOR)] = sizeBytes[i];
      }
      if (bat.dirtyPages() > 0) {
        commitBat();
      }
      commit(updates);
      RegionTable.Entry batRegion = regions.find(RegionTable.BAT);
      meta = new Metadata(bs, meta.leaveBlocksAllocated(), meta.hasParent(), newSize,
          meta.virtualDiskId(), meta.logicalSectorSizeBytes(), meta.physicalSectorSizeBytes(),
          meta.parentLocator(), meta.parentLocatorFileOffset(), meta.virtualSizeFileOffset(),
          meta.logicalSectorSizeFileOffset(), meta.items());
      bat = new Bat(io, batRegion.fileOffset(), batRegion.length(), CACHED_BAT_PAGES);
      if (meta.leaveBlocksAllocated()) {
        for (long block = oldBlocks; block < newBlocks; block++) {
          long off = nextFree;
          nextFree += bs;
          bat.set(batIndex(block), off | Bat.FULLY_PRESENT);
        }
        io.write(nextFree - 1, ByteBuffer.wrap(new byte[1]));
        commitBat();
      }
    } finally {
      lock.unlock();
    }
  }

  // ---------------------------------------------------------------- merge

  /**
   * Writes what this child holds into its parent file. The parent's new DataWriteGuid is first
   * recorded in this child as {@code parent_linkage2}, so that a crash halfway leaves a child that
   * still opens over the half-merged parent and reads the same.
   */
  void mergeIntoParent() throws IOException {
    if (parent == null) {
      throw new IllegalStateException("'" + path + "' has no parent to merge into");
    }
    Path parentPath = parent.path;
    UUID newParentGuid = UUID.randomUUID();
    recordParentLinkage2(newParentGuid);
    try (VhdxFile target = open(parentPath, true, true)) {
      target.presetDataWriteGuid(newParentGuid);
      if (target.sizeBytes() < sizeBytes()) {
        target.grow(sizeBytes());
      }
      long bs = meta.blockSizeBytes();
      for (long block = 0; block < meta.dataBlocks(); block++) {
        long start = block * bs;
        long valid = Math.min(bs, meta.virtualSizeBytes() - start);
        long e = lookup(block);
        int state = Bat.state(e);
        if (state == Bat.FULLY_PRESENT || state == Bat.PARTIALLY_PRESENT) {
          byte[] buf = new byte[(int) Math.min(Le.MIB, valid)];
          for (long at = 0; at < valid; at += buf.length) {
            int n = (int) Math.min(buf.length, valid - at);
            read(start + at, ByteBuffer.wrap(buf, 0, n));
            target.write(start + at, ByteBuffer.wrap(buf, 0, n));
          }
        } else if (state != Bat.NOT_PRESENT) {
          target.trim(start, valid);
        }
      }
      target.flush();
    }
  }

  private void recordParentLinkage2(UUID guid) throws IOException {
    lock.lock();
    try {
      Map<String, String> kv = new LinkedHashMap<>(meta.parentLocator().entries());
      kv.put("parent_linkage2", ParentLocator.linkage(guid));
      if (!rewriteParentLocator(kv)) {
        throw new IOException(
            "no room in the metadata region of '" + path + "' to record the merge; nothing"
                + " was merged");
      }
    } finally {
      lock.unlock();
    }
  }

  /**
   * Replaces the parent locator item through the log: in its own place if the new one fits there
   * without touching another item, else after the last item. Returns false, changing nothing, if
   * the metadata region has no room for it. The caller holds the lock.
   */
  private boolean rewriteParentLocator(Map<String, String> kv) throws IOException {
    byte[] item = new ParentLocator(ParentLocator.VHDX_TYPE, kv).encode();
    RegionTable.Entry region = regions.find(RegionTable.METADATA);
    int index = -1;
    for (int i = 0; i < meta.items().size(); i++) {
      Metadata.Item it = meta.items().get(i);
      if (it.id().equals(Metadata.PARENT_LOCATOR) && (it.flags() & Metadata.FLAG_USER) == 0) {
        index = i;
      }
    }
    Metadata.Item old = meta.items().get(index);
    long itemOffset = -1;
    if (fitsAt(old.offset(), item.length, index, region.length())) {
      itemOffset = old.offset();
    } else {
      long itemsEnd = Metadata.TABLE_SIZE;
      for (Metadata.Item it : meta.items()) {
        itemsEnd = Math.max(itemsEnd, it.offset() + it.length());
      }
      if (fitsAt(itemsEnd, item.length, index, region.length())) {
        itemOffset = itemsEnd;
      }
    }
    if (itemOffset < 0) {
      return false;
    }
    startSession(false);
    TreeMap<Long, byte[]> updates = new TreeMap<>();
    long itemAt = region.fileOffset() + itemOffset;
    long entryAt = region.fileOffset() + 32 + 32L * index;
    byte[] offsetLength = new byte[8];
    Le.put32(offsetLength, 0, itemOffset);
    Le.put32(offsetLength, 4, item.length);
    patch(updates, itemAt, item);
    patch(updates, entryAt + 16, offsetLength);
    commit(updates);
    List<Metadata.Item> items = new ArrayList<>(meta.items());
    items.set(index, new Metadata.Item(old.id(), itemOffset, item.length, old.flags()));
    meta = new Metadata(meta.blockSizeBytes(), meta.leaveBlocksAllocated(), true,
        meta.virtualSizeBytes(), meta.virtualDiskId(), meta.logicalSectorSizeBytes(),
        meta.physicalSectorSizeBytes(), new ParentLocator(ParentLocator.VHDX_TYPE, kv), itemAt,
        meta.virtualSizeFileOffset(), meta.logicalSectorSizeFileOffset(), items);
    return true;
  }

  /** Whether {@code length} bytes at region offset {@code at} overlap no item but {@code own}. */
  private boolean fitsAt(long at, long length, int own, long regionLength) {
    if (at < Metadata.TABLE_SIZE || at + length > regionLength || length > Le.MIB) {
      return false;
    }
    for (int i = 0; i < meta.items().size(); i++) {
      Metadata.Item it = meta.items().get(i);
      if (i != own && it.length() > 0 && at < it.offset() + it.length()
          && it.offset() < at + length) {
        return false;
      }
    }
    return true;
  }

  private void patch(TreeMap<Long, byte[]> updates, long at, byte[] bytes) throws IOException {
    for (int i = 0; i < bytes.length; i++) {
      long p = at + i;
      long sector = p - p % Log.SECTOR;
      byte[] s = updates.get(sector);
      if (s == null) {
        s = io.read(sector, Log.SECTOR);
        updates.put(sector, s);
      }
      s[(int) (p - sector)] = bytes[i];
    }
  }

  // ---------------------------------------------------------------- closing

  @Override
  public void close() throws IOException {
    lock.lock();
    try {
      if (!io.channel.isOpen()) {
        return;
      }
      try {
        if (writable) {
          if (bat.dirtyPages() > 0) {
            commitBat();
          }
          if (!header.logEmpty() && sessionLogGuid != null) {
            io.force();
            writeHeaders(header.fileWriteGuid(), header.dataWriteGuid(), Le.ZERO_GUID);
          }
        }
      } finally {
        io.channel.close();
        if (parent != null) {
          parent.close();
        }
      }
    } finally {
      lock.unlock();
    }
  }

  static long roundUp(long v, long unit) {
    return (v + unit - 1) / unit * unit;
  }
}
