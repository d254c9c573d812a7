package io.replica.api;

import io.replica.spi.storage.VirtualDisk;
import java.util.Objects;

/**
 * A disk of a virtual machine on the primary.
 *
 * @param id the disk's id
 * @param disk the disk itself; the engine reads it and the embedder writes it only through the
 *     {@link ChangeTracker}'s tracked view once replication is enabled
 * @param boot whether the machine boots from it (a boot disk must be replicated)
 */
public record VmDisk(DiskId id, VirtualDisk disk, boolean boot) {
  public VmDisk {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(disk, "disk");
  }
}
