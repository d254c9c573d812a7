package io.replica.testkit.gen;

import io.replica.spi.storage.DiskSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * A seeded source of guest writes for tests, simulations and benchmarks, in plain Java so that any
 * test framework can drive it.
 *
 * <p>Everything it makes — disks, offsets, lengths, bytes, delays — comes from one
 * {@link SplittableRandom} seeded with the builder's seed, so the same seed and settings give the
 * same sequence of writes on every run and every machine, and a failing seed can be replayed.
 * Every write is aligned to its disk's logical sector size and lies inside the disk; a share of the
 * writes (5 % unless set) are all zeros, so that zero handling is exercised.
 *
 * <pre>{@code
 * WorkloadGenerator writes = WorkloadGenerator.builder(seed)
 *     .disk(DiskSpec.dynamic(64L << 20))
 *     .workload(Workload.HOT_SPOTS)
 *     .writeSizeUpTo(64 * 1024)
 *     .build();
 * for (int i = 0; i < 1000; i++) {
 *   GuestWrite w = writes.next();
 *   w.writeTo(disks.get(w.diskIndex()));
 * }
 * }</pre>
 *
 * <p>Not thread-safe: one generator feeds one sequence.
 */
public final class WorkloadGenerator {

  private final long seed;
  private final List<DiskSpec> disks;
  private final Workload workload;
  private final int fixedWriteBytes; // 0 if sizes vary
  private final int maxWriteBytes;
  private final double zeroWriteFraction;
  private final Duration pause;
  private final double hotSpotFraction;
  private final long[][] hotSpotStarts; // per disk
  private final long[] hotSpotBytes; // per disk
  private final int runLengthMax;
  private final int burstWritesMin;
  private final int burstWritesMax;
  private final long quietNanosMin;
  private final long quietNanosMax;
  private final SplittableRandom random;

  // The position of a sequential run or a burst.
  private int runDisk;
  private long runNextOffset;
  private int runRemaining;

  private WorkloadGenerator(Builder b) {
    this.seed = b.seed;
    this.disks = List.copyOf(b.disks);
    this.workload = b.workload;
    this.fixedWriteBytes = b.fixedWriteBytes;
    this.maxWriteBytes = b.maxWriteBytes;
    this.zeroWriteFraction = b.zeroWriteFraction;
    this.pause = b.pause;
    this.hotSpotFraction = b.hotSpotFraction;
    this.runLengthMax = b.runLengthMax;
    this.burstWritesMin = b.burstWritesMin;
    this.burstWritesMax = b.burstWritesMax;
    this.quietNanosMin = b.quietMin.toNanos();
    this.quietNanosMax = b.quietMax.toNanos();
    this.random = new SplittableRandom(seed);
    this.hotSpotStarts = new long[disks.size()][];
    this.hotSpotBytes = new long[disks.size()];
    for (int d = 0; d < disks.size(); d++) {
      DiskSpec disk = disks.get(d);
      int sector = disk.logicalSectorSizeBytes();
      long spot = Math.max(sector, Math.min(b.hotSpotBytes, disk.sizeBytes()) / sector * sector);
      hotSpotBytes[d] = spot;
      hotSpotStarts[d] = new long[b.hotSpotCount];
      for (int i = 0; i < b.hotSpotCount; i++) {
        hotSpotStarts[d][i] = alignedOffset(0, disk.sizeBytes(), spot, sector);
      }
    }
  }

  /**
   * A builder for a generator seeded with {@code seed}; add at least one disk.
   *
   * <p>Defaults: {@link Workload#UNIFORM}, 4 KiB writes, 5 % all-zero writes, 1 ms between writes;
   * hot spots: 4 regions of 1 MiB per disk taking 90 % of the writes; sequential runs of up to 64
   * writes; bursts of 16 to 256 writes after 1 s to 2 min of quiet.
   */
  public static Builder builder(long seed) {
    return new Builder(seed);
  }

  /** The next write. */
  public GuestWrite next() {
    return switch (workload) {
      case UNIFORM -> uniform(random.nextInt(disks.size()), pause);
      case HOT_SPOTS -> hotSpot();
      case SEQUENTIAL_RUNS -> sequential();
      case BURSTS -> burst();
    };
  }

  /** The next {@code count} writes, in order. */
  public List<GuestWrite> next(int count) {
    if (count < 0) {
      throw new IllegalArgumentException(
          "cannot take " + count + " writes from the workload generator; pass zero or more");
    }
    List<GuestWrite> writes = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      writes.add(next());
    }
    return writes;
  }

  /** The seed, to print when a test fails so that it can be replayed. */
  public long seed() {
    return seed;
  }

  /** The disks, in index order. */
  public List<DiskSpec> disks() {
    return disks;
  }

  /** The shape of the writes. */
  public Workload workload() {
    return workload;
  }

  @Override
  public String toString() {
    return "WorkloadGenerator[seed " + seed + ", " + workload + ", " + disks.size() + " disk(s)]";
  }

  // ---------------------------------------------------------------- workloads

  private GuestWrite uniform(int disk, Duration delay) {
    DiskSpec spec = disks.get(disk);
    int length = writeLength(spec);
    long offset = alignedOffset(0, spec.sizeBytes(), length, spec.logicalSectorSizeBytes());
    return write(disk, offset, length, delay);
  }

  private GuestWrite hotSpot() {
    int disk = random.nextInt(disks.size());
    if (random.nextDouble() >= hotSpotFraction) {
      return uniform(disk, pause);
    }
    DiskSpec spec = disks.get(disk);
    int length = writeLength(spec);
    long start = hotSpotStarts[disk][random.nextInt(hotSpotStarts[disk].length)];
    long end = Math.min(spec.sizeBytes(), start + hotSpotBytes[disk]);
    long offset;
    if (length <= end - start) {
      offset = alignedOffset(start, end, length, spec.logicalSectorSizeBytes());
    } else {
      offset = Math.min(start, spec.sizeBytes() - length); // the write covers the whole spot
    }
    return write(disk, offset, length, pause);
  }

  private GuestWrite sequential() {
    if (runRemaining == 0) {
      runDisk = random.nextInt(disks.size());
      DiskSpec spec = disks.get(runDisk);
      runNextOffset = alignedOffset(0, spec.sizeBytes(), spec.logicalSectorSizeBytes(),
          spec.logicalSectorSizeBytes());
      runRemaining = 1 + random.nextInt(runLengthMax);
    }
    DiskSpec spec = disks.get(runDisk);
    int length = writeLength(spec);
    if (runNextOffset + length > spec.sizeBytes()) {
      runNextOffset = 0; // the run wraps around at the end of the disk
    }
    long offset = runNextOffset;
    runNextOffset += length;
    runRemaining--;
    return write(runDisk, offset, length, pause);
  }

  private GuestWrite burst() {
    Duration delay = Duration.ZERO;
    if (runRemaining == 0) {
      runRemaining = burstWritesMin + random.nextInt(burstWritesMax - burstWritesMin + 1);
      delay = Duration.ofNanos(quietNanosMin == quietNanosMax
          ? quietNanosMin
          : random.nextLong(quietNanosMin, quietNanosMax + 1));
    }
    runRemaining--;
    return uniform(random.nextInt(disks.size()), delay);
  }

  // ---------------------------------------------------------------- helpers

  private int writeLength(DiskSpec spec) {
    int sector = spec.logicalSectorSizeBytes();
    long limit = spec.sizeBytes();
    if (fixedWriteBytes > 0) {
      return (int) Math.min(fixedWriteBytes, limit);
    }
    long maxSectors = Math.min(maxWriteBytes, limit) / sector;
    return (int) ((1 + random.nextLong(maxSectors)) * sector);
  }

  /** A random offset, a multiple of {@code sector}, such that [offset, offset+length) lies in [from, to). */
  private long alignedOffset(long from, long to, long length, int sector) {
    long first = (from + sector - 1) / sector;
    long last = (to - length) / sector;
    if (last <= first) {
      return first * sector;
    }
    return (first + random.nextLong(last - first + 1)) * sector;
  }

  private GuestWrite write(int disk, long offset, int length, Duration delay) {
    byte[] data = new byte[length];
    if (random.nextDouble() >= zeroWriteFraction) {
      random.nextBytes(data);
    }
    return new GuestWrite(disk, offset, data, delay);
  }

  /**
   * Settings of a {@link WorkloadGenerator}. Every setting is checked when it is given, except the
   * ones that depend on the disks, which {@link #build()} checks.
   */
  public static final class Builder {
    private final long seed;
    private final List<DiskSpec> disks = new ArrayList<>();
    private Workload workload = Workload.UNIFORM;
    private int fixedWriteBytes = 4096;
    private int maxWriteBytes = 4096;
    private double zeroWriteFraction = 0.05;
    private Duration pause = Duration.ofMillis(1);
    private int hotSpotCount = 4;
    private long hotSpotBytes = 1 << 20;
    private double hotSpotFraction = 0.9;
    private int runLengthMax = 64;
    private int burstWritesMin = 16;
    private int burstWritesMax = 256;
    private Duration quietMin = Duration.ofSeconds(1);
    private Duration quietMax = Duration.ofMinutes(2);

    private Builder(long seed) {
      this.seed = seed;
    }

    /** Adds a disk; writes name it by its index, the number of disks added before it. */
    public Builder disk(DiskSpec spec) {
      disks.add(Objects.requireNonNull(spec, "spec"));
      return this;
    }

    /** Adds disks in order, as {@link #disk(DiskSpec)} does. */
    public Builder disks(List<DiskSpec> specs) {
      for (DiskSpec spec : specs) {
        disk(spec);
      }
      return this;
    }

    /** The shape of the writes; {@link Workload#UNIFORM} unless set. */
    public Builder workload(Workload workload) {
      this.workload = Objects.requireNonNull(workload, "workload");
      return this;
    }

    /**
     * Every write is {@code bytes} long (4 KiB unless set), or the whole disk if that is smaller.
     * {@link #build()} checks that it is a multiple of every disk's logical sector size.
     *
     * @throws IllegalArgumentException if {@code bytes} is not positive
     */
    public Builder writeSizeBytes(int bytes) {
      if (bytes <= 0) {
        throw new IllegalArgumentException(
            "write size " + bytes + " bytes is invalid; pass a positive multiple of the sector size");
      }
      this.fixedWriteBytes = bytes;
      this.maxWriteBytes = bytes;
      return this;
    }

    /**
     * Each write is a random whole number of its disk's sectors, from one sector up to
     * {@code maxBytes} (and the disk size).
     *
     * @throws IllegalArgumentException if {@code maxBytes} is not positive
     */
    public Builder writeSizeUpTo(int maxBytes) {
      if (maxBytes <= 0) {
        throw new IllegalArgumentException(
            "largest write size " + maxBytes + " bytes is invalid; pass at least one sector");
      }
      this.fixedWriteBytes = 0;
      this.maxWriteBytes = maxBytes;
      return this;
    }

    /**
     * The share of writes whose bytes are all zeros; 0.05 unless set.
     *
     * @throws IllegalArgumentException if not within 0 and 1
     */
    public Builder zeroWriteFraction(double fraction) {
      this.zeroWriteFraction = fraction(fraction, "zero write fraction");
      return this;
    }

    /**
     * The delay between writes of the steady workloads (all but {@link Workload#BURSTS}); 1 ms
     * unless set.
     *
     * @throws IllegalArgumentException if negative
     */
    public Builder pauseBetweenWrites(Duration pause) {
      Objects.requireNonNull(pause, "pause");
      if (pause.isNegative()) {
        throw new IllegalArgumentException(
            "pause between writes " + pause + " is negative; pass zero or more");
      }
      this.pause = pause;
      return this;
    }

    /**
     * For {@link Workload#HOT_SPOTS}: {@code count} regions of {@code sizeBytes} per disk, placed at
     * random, receive {@code fraction} of the writes.
     *
     * @throws IllegalArgumentException if count or size is not positive or fraction not in [0, 1]
     */
    public Builder hotSpots(int count, long sizeBytes, double fraction) {
      if (count <= 0 || sizeBytes <= 0) {
        throw new IllegalArgumentException(
            "hot spots of " + count + " regions of " + sizeBytes + " bytes are invalid; pass a"
                + " positive count and size");
      }
      this.hotSpotCount = count;
      this.hotSpotBytes = sizeBytes;
      this.hotSpotFraction = fraction(fraction, "hot spot fraction");
      return this;
    }

    /**
     * For {@link Workload#SEQUENTIAL_RUNS}: each run has 1 to {@code maxWrites} writes.
     *
     * @throws IllegalArgumentException if not positive
     */
    public Builder runLengthMax(int maxWrites) {
      if (maxWrites <= 0) {
        throw new IllegalArgumentException(
            "longest sequential run " + maxWrites + " is invalid; pass at least one write");
      }
      this.runLengthMax = maxWrites;
      return this;
    }

    /**
     * For {@link Workload#BURSTS}: bursts of {@code minWrites} to {@code maxWrites} writes, each
     * after a quiet period of {@code quietMin} to {@code quietMax}.
     *
     * @throws IllegalArgumentException if a count is not positive, a minimum exceeds its maximum, or
     *     a duration is negative
     */
    public Builder bursts(int minWrites, int maxWrites, Duration quietMin, Duration quietMax) {
      Objects.requireNonNull(quietMin, "quietMin");
      Objects.requireNonNull(quietMax, "quietMax");
      if (minWrites <= 0 || maxWrites < minWrites || quietMin.isNegative()
          || quietMax.compareTo(quietMin) < 0) {
        throw new IllegalArgumentException(
            "bursts of " + minWrites + " to " + maxWrites + " writes after " + quietMin + " to "
                + quietMax + " of quiet are invalid; pass 0 < min <= max writes and"
                + " 0 <= min <= max quiet");
      }
      quietMax.toNanos(); // fails early if it does not fit in nanoseconds
      this.burstWritesMin = minWrites;
      this.burstWritesMax = maxWrites;
      this.quietMin = quietMin;
      this.quietMax = quietMax;
      return this;
    }

    /**
     * The generator.
     *
     * @throws IllegalStateException if no disk was added, or the write size does not fit a disk's
     *     sector size
     */
    public WorkloadGenerator build() {
      if (disks.isEmpty()) {
        throw new IllegalStateException(
            "the workload generator has no disks; add at least one with disk(DiskSpec)");
      }
      for (int i = 0; i < disks.size(); i++) {
        int sector = disks.get(i).logicalSectorSizeBytes();
        if (fixedWriteBytes > 0 && fixedWriteBytes % sector != 0) {
          throw new IllegalStateException(
              "write size " + fixedWriteBytes + " bytes is not a multiple of the " + sector
                  + "-byte sectors of disk #" + i + "; pick a multiple of every disk's sector size");
        }
        if (maxWriteBytes < sector) {
          throw new IllegalStateException(
              "largest write size " + maxWriteBytes + " bytes is smaller than one " + sector
                  + "-byte sector of disk #" + i + "; allow at least one sector");
        }
      }
      return new WorkloadGenerator(this);
    }

    private static double fraction(double value, String what) {
      if (!(value >= 0 && value <= 1)) {
        throw new IllegalArgumentException(
            what + " " + value + " is invalid; pass a number from 0 to 1");
      }
      return value;
    }
  }
}
