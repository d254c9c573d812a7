package io.replica.storage.vhdx;

import com.sun.nio.file.ExtendedOpenOption;
import io.replica.spi.storage.ByteRange;
import io.replica.spi.storage.DiskSpec;
import java.io.Closeable;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;

/**
 * Copies a disk file into a new file of either format, raw or VHDX: to hand a replica disk to a
 * tool that wants raw bytes, or to bring a raw image into VHDX. It is what {@code replica disk
 * convert} runs.
 *
 * <p>The source is read as a whole disk: a VHDX file (recognised by its signature, whatever its
 * name) through its parent chain, anything else as raw bytes. Only its allocated ranges are read,
 * and only the non-zero 64 KiB pieces of them are written, so the target stays sparse: a raw
 * target gets holes, a VHDX target unallocated blocks. The target has the source's virtual size
 * (a VHDX target rounds it up to whole sectors); a VHDX target keeps a VHDX source's sector size
 * and, unless told otherwise, its block size.
 *
 * <p>A conversion overlaps reading, writing and flushing: the calling thread reads, two threads of
 * the conversion's own write the non-zero pieces, and one more flushes the target now and then, as
 * qemu-img does. The threads live only as long as one {@link #convert} call. Pieces of a raw
 * target that are page-aligned bypass the page cache (O_DIRECT) where the file system allows it:
 * a converted image is rarely read back soon, and caching it would cost a second copy of every
 * byte and evict what the machine's other work keeps cached.
 *
 * <p>Instances are immutable and may be shared; configure one with the {@code with...} methods.
 */
public final class DiskConverter {

  /** The two formats a conversion reads and writes. */
  public enum Format {
    /** A plain image: byte {@code n} of the file is byte {@code n} of the disk. */
    RAW,
    /** A VHDX file (MS-VHDX version 1); a {@code .avhdx} source is read through its parents. */
    VHDX;

    /**
     * The format a file's name asks for: VHDX for {@code .vhdx} and {@code .avhdx} (any case),
     * raw for everything else, as {@code replica disk convert} picks the target's format.
     */
    public static Format ofFileName(Path file) {
      String n = Objects.requireNonNull(file, "file").getFileName().toString()
          .toLowerCase(Locale.ROOT);
      return n.endsWith(".vhdx") || n.endsWith(".avhdx") ? VHDX : RAW;
    }
  }

  /** Told how far a conversion got; see {@link #withProgress(Progress)}. */
  @FunctionalInterface
  public interface Progress {
    /**
     * Called on the thread that runs {@link #convert} after each piece of the source was read,
     * with the bytes of allocated ranges read so far and in all; the last call has {@code
     * doneBytes == totalBytes}. It should return quickly: reading waits for it.
     */
    void update(long doneBytes, long totalBytes);
  }

  /**
   * What a conversion did.
   *
   * @param sizeBytes the target's virtual size
   * @param bytesRead bytes of the source's allocated ranges that were read
   * @param bytesWritten bytes written to the target: the non-zero pieces
   */
  public record Result(long sizeBytes, long bytesRead, long bytesWritten) {}

  private static final int CHUNK = 4 * 1024 * 1024;
  private static final int GRAIN = 64 * 1024;
  private static final long FLUSH_EVERY = 128L * 1024 * 1024;
  private static final int WRITERS = 2;
  private static final int BUFFERS = 8;
  private static final int SECTOR = 512;
  private static final ByteBuffer ZERO_BUFFER =
      ByteBuffer.allocateDirect(GRAIN).asReadOnlyBuffer();

  private final Format target;
  private final long blockSizeBytes;
  private final boolean replaceExisting;
  private final Progress progress;

  private DiskConverter(Format target, long blockSizeBytes, boolean replaceExisting,
      Progress progress) {
    this.target = target;
    this.blockSizeBytes = blockSizeBytes;
    this.replaceExisting = replaceExisting;
    this.progress = progress;
  }

  /**
   * A converter that writes {@code target} files, never replaces an existing file, and reports no
   * progress.
   */
  public static DiskConverter to(Format target) {
    return new DiskConverter(Objects.requireNonNull(target, "target"), 0, false, (d, t) -> { });
  }

  /**
   * The same converter with the block size of a VHDX target (by default the source's, if it is
   * VHDX, else {@link VhdxDisk#DEFAULT_BLOCK_SIZE_BYTES}); a raw target has no blocks and ignores
   * it.
   *
   * @param blockSizeBytes a power of two from 1 MiB to 256 MiB
   * @throws IllegalArgumentException if it is not
   */
  public DiskConverter withBlockSizeBytes(long blockSizeBytes) {
    if (blockSizeBytes < (1L << 20) || blockSizeBytes > (256L << 20)
        || Long.bitCount(blockSizeBytes) != 1) {
      throw new IllegalArgumentException(
          "block size " + blockSizeBytes + " is invalid; use a power of two from 1 MiB to"
              + " 256 MiB");
    }
    return new DiskConverter(target, blockSizeBytes, replaceExisting, progress);
  }

  /**
   * The same converter, allowed to replace a target that exists: a regular file (or a link) is
   * replaced and its old content is gone, holes included; anything else, such as a block device,
   * is written in place. Without it, an existing target is refused and left alone.
   */
  public DiskConverter replacingExisting(boolean replace) {
    return new DiskConverter(target, blockSizeBytes, replace, progress);
  }

  /** The same converter, telling {@code progress} how far it got. */
  public DiskConverter withProgress(Progress progress) {
    return new DiskConverter(
        target, blockSizeBytes, replaceExisting, Objects.requireNonNull(progress, "progress"));
  }

  /**
   * Whether an existing file holds a VHDX disk: its name says so ({@link Format#ofFileName}) or
   * its first bytes are the VHDX signature. A VHDX file renamed to {@code .img} is still VHDX.
   *
   * @throws IOException if the file cannot be read
   */
  public static boolean isVhdxFile(Path file) throws IOException {
    if (Format.ofFileName(file) == Format.VHDX) {
      return true;
    }
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      ByteBuffer b = ByteBuffer.allocate(8);
      ch.read(b, 0);
      return new String(b.array(), StandardCharsets.ISO_8859_1).equals("vhdxfile");
    }
  }

  /**
   * Converts {@code source} into {@code targetFile}. When it fails, a target it started to write is
   * left incomplete, to be deleted or converted again.
   *
   * @return the target's size and what was read and written
   * @throws NoSuchFileException if {@code source} is not a regular file
   * @throws FileAlreadyExistsException if {@code targetFile} exists and the converter does not
   *     replace existing targets; nothing is written
   * @throws IllegalArgumentException if source and target are the same file, or the target is a
   *     folder; nothing is written
   * @throws CorruptDiskException if a VHDX source breaks the format
   * @throws InterruptedIOException if the calling thread is interrupted
   * @throws IOException if reading or writing fails
   */
  public Result convert(Path source, Path targetFile) throws IOException {
    Objects.requireNonNull(source, "source");
    Objects.requireNonNull(targetFile, "targetFile");
    if (!Files.isRegularFile(source)) {
      throw new NoSuchFileException(source.toString(), null, "no such file");
    }
    if (Files.isDirectory(targetFile)) {
      throw new IllegalArgumentException(
          "target '" + targetFile + "' is a folder; name a file in it");
    }
    if (Files.exists(targetFile) && Files.isSameFile(source, targetFile)) {
      throw new IllegalArgumentException(
          "source and target '" + targetFile + "' are the same file; name another target");
    }
    if (Files.exists(targetFile, LinkOption.NOFOLLOW_LINKS) && !replaceExisting) {
      throw new FileAlreadyExistsException(targetFile.toString(), null,
          "the target exists; replace it explicitly or name a new file");
    }
    try (Source in = Source.open(source)) {
      long size = in.size();
      try (Sink out = target == Format.VHDX ? vhdxTarget(in, targetFile, size)
          : RawTarget.create(targetFile, size)) {
        return copy(in, out, size);
      }
    }
  }

  private Sink vhdxTarget(Source in, Path file, long size) throws IOException {
    long bs = blockSizeBytes != 0 ? blockSizeBytes : in.blockSizeBytes();
    int sector = in.logicalSectorSizeBytes();
    Files.deleteIfExists(file);
    long rounded = (size + sector - 1) / sector * sector;
    VhdxDisk d = VhdxDisk.create(file, new DiskSpec(rounded, sector, 4096, false), bs);
    return new Sink() {
      @Override
      public void write(long offset, ByteBuffer src) throws IOException {
        d.write(offset, src);
      }

      @Override
      public void flush() throws IOException {
        d.flush();
      }

      @Override
      public boolean padsToSectors() {
        return true;
      }

      @Override
      public long sizeBytes() {
        return rounded;
      }

      @Override
      public void close() throws IOException {
        try (d) {
          d.flush();
        }
      }
    };
  }

  /**
   * Copies every non-zero 64 KiB piece of the source's allocated ranges: this thread reads, the
   * writers find the non-zero runs and write them, the flusher flushes now and then.
   */
  private Result copy(Source in, Sink out, long size) throws IOException {
    long total = 0;
    for (ByteRange r : in.ranges()) {
      total += r.lengthBytes();
    }
    ThreadFactory daemons = r -> {
      Thread t = new Thread(r, "disk-convert");
      t.setDaemon(true);
      return t;
    };
    ExecutorService writers = Executors.newFixedThreadPool(WRITERS, daemons);
    ExecutorService flusher = Executors.newSingleThreadExecutor(daemons);
    // Direct buffers: the channel reads into them and writes from them without copying.
    // Aligned to the page, so that a raw target can take them unbuffered (O_DIRECT).
    BlockingQueue<ByteBuffer> free = new ArrayBlockingQueue<>(BUFFERS);
    for (int i = 0; i < BUFFERS; i++) {
      free.add(ByteBuffer.allocateDirect(CHUNK + RawTarget.ALIGN).alignedSlice(RawTarget.ALIGN));
    }
    ArrayDeque<Future<?>> pending = new ArrayDeque<>();
    AtomicLong unflushed = new AtomicLong();
    AtomicLong written = new AtomicLong();
    Future<?> flushing = null;
    long done = 0;
    long paddedSize = (in.size() + SECTOR - 1) / SECTOR * SECTOR;
    try {
      for (ByteRange r : in.ranges()) {
        for (long at = r.offsetBytes(); at < r.endBytes(); at += CHUNK) {
          int n = (int) Math.min(CHUNK, r.endBytes() - at);
          // Reads stay sector-aligned: ranges are, and a raw tail is padded with zeros.
          int aligned = (int) Math.min((n + SECTOR - 1) / SECTOR * SECTOR, paddedSize - at);
          ByteBuffer buffer = take(free);
          buffer.clear().limit(aligned);
          in.read(at, buffer);
          long offset = at;
          pending.add(writers.submit(() -> {
            try {
              long w = writeNonZero(out, buffer, offset, aligned, size);
              unflushed.addAndGet(w);
              written.addAndGet(w);
            } finally {
              free.add(buffer);
            }
            return null;
          }));
          while (!pending.isEmpty() && pending.peek().isDone()) {
            check(pending.poll());
          }
          if (unflushed.get() >= FLUSH_EVERY && (flushing == null || flushing.isDone())) {
            check(flushing);
            unflushed.set(0);
            flushing = flusher.submit(() -> {
              out.flush();
              return null;
            });
          }
          done += n;
          progress.update(done, total);
        }
      }
      while (!pending.isEmpty()) {
        check(pending.poll());
      }
      check(flushing);
    } finally {
      writers.shutdownNow();
      flusher.shutdownNow();
    }
    return new Result(out.sizeBytes(), done, written.get());
  }

  private static ByteBuffer take(BlockingQueue<ByteBuffer> free) throws IOException {
    try {
      return free.take();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while converting");
    }
  }

  /** Writes the non-zero 64 KiB pieces of {@code buf[0, aligned)}; returns bytes written. */
  private static long writeNonZero(Sink out, ByteBuffer buf, long at, int aligned, long size)
      throws IOException {
    long written = 0;
    int g = 0;
    while (g < aligned) {
      int end = Math.min(g + GRAIN, aligned);
      if (zero(buf, g, end)) {
        g = end;
        continue;
      }
      int runEnd = end;
      while (runEnd < aligned && !zero(buf, runEnd, Math.min(runEnd + GRAIN, aligned))) {
        runEnd = Math.min(runEnd + GRAIN, aligned);
      }
      int limit = out.padsToSectors() ? runEnd : (int) Math.min(runEnd, size - at);
      out.write(at + g, buf.slice(g, limit - g));
      written += limit - g;
      g = runEnd;
    }
    return written;
  }

  private static boolean zero(ByteBuffer b, int from, int to) {
    return b.slice(from, to - from).mismatch(ZERO_BUFFER.slice(0, to - from)) < 0;
  }

  private static void check(@Nullable Future<?> work) throws IOException {
    if (work == null) {
      return;
    }
    try {
      work.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while converting");
    } catch (ExecutionException e) {
      if (e.getCause() instanceof IOException io) {
        throw io;
      }
      if (e.getCause() instanceof RuntimeException re) {
        throw re;
      }
      throw new IOException("writing the target failed", e.getCause());
    }
  }

  /**
   * A disk file read as a whole: raw, or VHDX through its parent chain; what a conversion reads,
   * and what {@code replica disk compare} compares.
   */
  public interface Source extends Closeable {
    /** The virtual size in bytes (a raw file's length). */
    long size();

    /** Reads {@code dst.remaining()} bytes at {@code offset}; past a raw file's end, zeros. */
    void read(long offset, ByteBuffer dst) throws IOException;

    /** The ranges that may hold data (a raw file: all of it); the rest reads as zeros. */
    List<ByteRange> ranges() throws IOException;

    /** The block size a VHDX target copies by default. */
    long blockSizeBytes();

    int logicalSectorSizeBytes();

    /** Opens {@code p} read-only, as VHDX if its first bytes say so, else as a raw image. */
    static Source open(Path p) throws IOException {
      if (isVhdxFile(p)) {
        VhdxDisk d = VhdxDisk.open(p, true);
        return new Source() {
          @Override
          public long size() {
            return d.sizeBytes();
          }

          @Override
          public void read(long offset, ByteBuffer dst) throws IOException {
            d.read(offset, dst);
          }

          @Override
          public List<ByteRange> ranges() throws IOException {
            return d.allocatedRanges();
          }

          @Override
          public long blockSizeBytes() {
            return d.blockSizeBytes();
          }

          @Override
          public int logicalSectorSizeBytes() {
            return d.logicalSectorSizeBytes();
          }

          @Override
          public void close() throws IOException {
            d.close();
          }
        };
      }
      FileChannel ch = FileChannel.open(p, StandardOpenOption.READ);
      long size = ch.size();
      return new Source() {
        @Override
        public long size() {
          return size;
        }

        @Override
        public void read(long offset, ByteBuffer dst) throws IOException {
          long pos = offset;
          while (dst.hasRemaining()) {
            int n = ch.read(dst, pos);
            if (n < 0) {
              while (dst.hasRemaining()) {
                dst.put((byte) 0);
              }
              return;
            }
            pos += n;
          }
        }

        @Override
        public List<ByteRange> ranges() {
          return size == 0 ? List.of() : List.of(new ByteRange(0, size));
        }

        @Override
        public long blockSizeBytes() {
          return VhdxDisk.DEFAULT_BLOCK_SIZE_BYTES;
        }

        @Override
        public int logicalSectorSizeBytes() {
          return SECTOR;
        }

        @Override
        public void close() throws IOException {
          ch.close();
        }
      };
    }
  }

  private interface Sink extends Closeable {
    void write(long offset, ByteBuffer src) throws IOException;

    /** Makes what was written durable; called from a second thread while writes go on. */
    void flush() throws IOException;

    /** Whether writes may run to the end of the last sector (VHDX) or must stop at the size. */
    boolean padsToSectors();

    long sizeBytes();
  }

  /**
   * A raw target file. Page-aligned pieces go to the medium unbuffered (O_DIRECT) where the file
   * system allows it; the unaligned end of the file, and everything on a file system that refuses
   * O_DIRECT, goes through the page cache.
   */
  private static final class RawTarget implements Sink {
    static final int ALIGN = 4096;

    private final RandomAccessFile file;
    private final FileChannel buffered;
    private final @Nullable FileChannel direct;
    private final long size;
    private volatile boolean directWorks;

    private RawTarget(RandomAccessFile file, @Nullable FileChannel direct, long size) {
      this.file = file;
      this.buffered = file.getChannel();
      this.direct = direct;
      this.size = size;
      this.directWorks = direct != null;
    }

    /**
     * Creates or empties {@code target} and gives it {@code size} bytes of holes; a device is
     * written in place.
     */
    static RawTarget create(Path target, long size) throws IOException {
      boolean regular = Files.notExists(target) || Files.isRegularFile(target);
      RandomAccessFile file = new RandomAccessFile(target.toFile(), "rw");
      try {
        if (regular) {
          // Holes where the source has no data, without writing a byte (ftruncate).
          file.setLength(0);
          file.setLength(size);
        }
        return new RawTarget(file, openDirect(target), size);
      } catch (IOException | RuntimeException e) {
        file.close();
        throw e;
      }
    }

    private static @Nullable FileChannel openDirect(Path target) {
      try {
        return FileChannel.open(target, StandardOpenOption.WRITE, ExtendedOpenOption.DIRECT);
      } catch (IOException | UnsupportedOperationException e) {
        return null;
      }
    }

    @Override
    public void write(long offset, ByteBuffer src) throws IOException {
      int whole = src.remaining() / ALIGN * ALIGN;
      FileChannel d = direct;
      if (directWorks && d != null && whole > 0 && offset % ALIGN == 0 && src.isDirect()
          && src.alignmentOffset(src.position(), ALIGN) == 0) {
        ByteBuffer piece = src.slice(src.position(), whole);
        try {
          writeFully(d, offset, piece);
          src.position(src.position() + whole);
          offset += whole;
        } catch (IOException e) {
          // Some file systems take O_DIRECT opens but not the writes (or need a larger
          // alignment): the page cache takes the rest; a real I/O error shows up there again.
          directWorks = false;
          offset += piece.position();
          src.position(src.position() + piece.position());
        }
      }
      writeFully(buffered, offset, src);
    }

    private static void writeFully(FileChannel ch, long offset, ByteBuffer src)
        throws IOException {
      long pos = offset;
      while (src.hasRemaining()) {
        pos += ch.write(src, pos);
      }
    }

    @Override
    public void flush() throws IOException {
      if (!directWorks) {
        buffered.force(false);
      }
      // Unbuffered writes leave nothing in the page cache to push early; close() flushes.
    }

    @Override
    public boolean padsToSectors() {
      return false;
    }

    @Override
    public long sizeBytes() {
      return size;
    }

    @Override
    public void close() throws IOException {
      try (file) {
        if (direct != null) {
          direct.close();
        }
        // Also needed after O_DIRECT: the new extents and the drive's write cache.
        buffered.force(false);
      }
    }
  }
}
