package io.replica.api;

import io.replica.spi.storage.VirtualDisk;
import java.util.Map;

/**
 * Read-only access to the disks of a replica machine as they were at a recovery point. The view
 * stays stable while later cycles apply; close it to release what it pins.
 */
public interface RecoveryPointView extends AutoCloseable {

  /** The point this view shows. */
  RecoveryPoint point();

  /** The disks at that point, read-only. */
  Map<DiskId, VirtualDisk> disks();

  @Override
  void close();
}
