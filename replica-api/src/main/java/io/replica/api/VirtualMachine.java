package io.replica.api;

import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * A virtual machine as the primary knows it: id, display name and disks.
 *
 * @param id the stable id
 * @param name the display name (never used for file names)
 * @param disks its disks, with distinct ids
 */
public record VirtualMachine(VmId id, String name, List<VmDisk> disks) {

  /** @throws IllegalArgumentException if the machine has no disk or two disks share an id */
  public VirtualMachine {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(name, "name");
    disks = List.copyOf(disks);
    if (disks.isEmpty()) {
      throw new IllegalArgumentException("virtual machine '" + name + "' (" + id + ") has no disk");
    }
    Set<DiskId> seen = new HashSet<>();
    for (VmDisk d : disks) {
      if (!seen.add(d.id())) {
        throw new IllegalArgumentException(
            "virtual machine '" + name + "' (" + id + ") lists disk " + d.id() + " twice");
      }
    }
  }

  /** The disk with this id, if the machine has it. */
  public Optional<VmDisk> disk(DiskId disk) {
    return disks.stream().filter(d -> d.id().equals(disk)).findFirst();
  }
}
