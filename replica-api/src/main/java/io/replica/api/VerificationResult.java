package io.replica.api;

import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * What an online verify found (DRBD's {@code verify}): the replica's latest recovery point compared
 * block by block, by strong hashes, with the primary's disks at the same cut, while replication went
 * on. A replica that differs without any error anywhere (a bad sector that reads back wrong, a tool
 * that wrote to the replica's files, a storage that lies about its allocation) shows up here and
 * nowhere else; the engine repairs the differing ranges by a resynchronization of exactly those.
 *
 * @param vm the machine
 * @param time when the verify completed, on the engine's clock
 * @param cycle the replica's latest applied cycle when the last blocks were compared
 * @param disks how many disks were compared
 * @param comparedBytes bytes compared on both sides (every block of every disk, allocated or not,
 *     unless the guest kept rewriting it)
 * @param uncomparedBytes bytes not compared because the guest wrote them again in every pass; they
 *     travel in the next cycles anyway
 * @param differences the ranges whose replica content differed from the primary's, by disk and
 *     offset; empty when the replica is right
 */
public record VerificationResult(VmId vm, Instant time, long cycle, int disks, long comparedBytes,
    long uncomparedBytes, List<DifferingRange> differences) {

  /** Checks the values; the list is copied. */
  public VerificationResult {
    Objects.requireNonNull(vm, "vm");
    Objects.requireNonNull(time, "time");
    differences = List.copyOf(differences);
    if (disks < 0 || comparedBytes < 0 || uncomparedBytes < 0) {
      throw new IllegalArgumentException("verification of " + vm + " has a negative count: " + disks
          + " disks, " + comparedBytes + " bytes compared, " + uncomparedBytes + " bytes not compared");
    }
  }

  /** Whether every compared block of the replica matched the primary. */
  public boolean matches() {
    return differences.isEmpty();
  }

  /** The differing ranges of one disk, in offset order. */
  public List<DifferingRange> differences(DiskId disk) {
    return differences.stream().filter(r -> r.disk().equals(disk)).toList();
  }

  /**
   * A byte range of one replica disk whose content differs from the primary's at the compared cut.
   *
   * @param disk the disk
   * @param offsetBytes where the range starts
   * @param lengthBytes how long it is: whole tracking blocks, except at the end of the disk
   */
  public record DifferingRange(DiskId disk, long offsetBytes, long lengthBytes) {
    /** @throws IllegalArgumentException if the offset is negative or the length not positive */
    public DifferingRange {
      Objects.requireNonNull(disk, "disk");
      if (offsetBytes < 0 || lengthBytes <= 0) {
        throw new IllegalArgumentException("differing range of disk " + disk + " at offset " + offsetBytes
            + " with length " + lengthBytes + " is invalid");
      }
    }

    @Override
    public String toString() {
      return disk + " [" + offsetBytes + ", " + (offsetBytes + lengthBytes) + ")";
    }
  }
}
