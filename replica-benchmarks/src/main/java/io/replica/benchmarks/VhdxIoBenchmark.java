package io.replica.benchmarks;

import io.replica.spi.storage.DiskSpec;
import io.replica.storage.vhdx.VhdxDisk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Sequential 1 MiB reads and writes and 4 KiB random writes to allocated blocks, through a
 * dynamic VHDX disk and through a plain FileChannel on a raw file in the same folder, in one run.
 * Report the ratios vhdx / raw; the goals are at least 0.9 (sequential) and 0.8 (random). The
 * folder is {@code -Dreplica.bench.dir} (default: the temporary folder); both files live there.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 6, time = 2)
@Measurement(iterations = 6, time = 2)
@Fork(value = 1, jvmArgsAppend = "-Xmx1g")
public class VhdxIoBenchmark {
  private static final long DISK_BYTES = 1L << 30;
  private static final int SEQ = 1 << 20;
  private static final int RANDOM = 4096;

  @Param({"raw", "vhdx"})
  public String target;

  private Path dir;
  private FileChannel raw;
  private VhdxDisk vhdx;
  private final ByteBuffer big = ByteBuffer.allocateDirect(SEQ);
  private final ByteBuffer small = ByteBuffer.allocateDirect(RANDOM);
  private long position;
  private final SplittableRandom random = new SplittableRandom(42);

  @Setup(Level.Trial)
  public void setUp() throws IOException {
    dir = Files.createTempDirectory(
        Path.of(System.getProperty("replica.bench.dir", System.getProperty("java.io.tmpdir"))),
        "vhdx-bench");
    byte[] fill = new byte[SEQ];
    new SplittableRandom(1).nextBytes(fill);
    if (target.equals("raw")) {
      raw = FileChannel.open(dir.resolve("disk.raw"), StandardOpenOption.CREATE_NEW,
          StandardOpenOption.READ, StandardOpenOption.WRITE);
      for (long at = 0; at < DISK_BYTES; at += SEQ) {
        raw.write(ByteBuffer.wrap(fill), at);
      }
      raw.force(false);
    } else {
      vhdx = VhdxDisk.create(dir.resolve("disk.vhdx"), DiskSpec.dynamic(DISK_BYTES));
      for (long at = 0; at < DISK_BYTES; at += SEQ) {
        vhdx.write(at, ByteBuffer.wrap(fill));
      }
      vhdx.flush();
    }
    big.put(fill).flip();
    small.put(fill, 0, RANDOM).flip();
  }

  @TearDown(Level.Trial)
  public void tearDown() throws IOException {
    if (raw != null) {
      raw.close();
    }
    if (vhdx != null) {
      vhdx.close();
    }
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path p : (Iterable<Path>) files.sorted(Comparator.reverseOrder())::iterator) {
        Files.delete(p);
      }
    }
  }

  private long nextSequential() {
    long at = position;
    position = (position + SEQ) % DISK_BYTES;
    return at;
  }

  @Benchmark
  public void sequentialRead1MiB() throws IOException {
    long at = nextSequential();
    big.clear();
    if (raw != null) {
      while (big.hasRemaining()) {
        raw.read(big, at + big.position());
      }
    } else {
      vhdx.read(at, big);
    }
  }

  @Benchmark
  public void sequentialWrite1MiB() throws IOException {
    long at = nextSequential();
    big.rewind();
    if (raw != null) {
      while (big.hasRemaining()) {
        raw.write(big, at + big.position());
      }
    } else {
      vhdx.write(at, big);
    }
  }

  @Benchmark
  public void randomWrite4KiB() throws IOException {
    long at = random.nextLong(DISK_BYTES / RANDOM) * RANDOM;
    small.rewind();
    if (raw != null) {
      while (small.hasRemaining()) {
        raw.write(small, at + small.position());
      }
    } else {
      vhdx.write(at, small);
    }
  }
}
