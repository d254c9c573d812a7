package io.replica.api;

/** How the replica gets its first full copy of the disks. */
public enum InitialReplicationMethod {
  /** Over the network: only allocated, non-zero blocks travel. */
  NETWORK,
  /** Exported to a folder (external media) and imported on the replica; changes keep replicating. */
  EXPORT_TO_MEDIA,
  /** From a copy that already exists on the replica (a restored backup), reconciled by resync. */
  EXISTING_COPY
}
