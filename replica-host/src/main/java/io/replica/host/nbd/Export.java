package io.replica.host.nbd;

import io.replica.spi.storage.VirtualDisk;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/** One named disk the server offers, and the connections in transmission on it. */
final class Export {
  final String name;
  final VirtualDisk disk;
  final boolean readOnly;
  final String description;
  private final Set<NbdConnection> connections = new LinkedHashSet<>();
  private boolean removed;

  Export(String name, VirtualDisk disk, boolean readOnly, String description) {
    this.name = name;
    this.disk = disk;
    this.readOnly = readOnly || disk.isReadOnly();
    this.description = description;
  }

  /**
   * The transmission flags. Every connection shares this one disk object, whose flush makes
   * every completed write durable, so a flush on one connection covers all: CAN_MULTI_CONN.
   * TRIM is a hint the disk may ignore; WRITE_ZEROES always leaves zeros.
   */
  int transmissionFlags(boolean structured) {
    int f = Nbd.TF_HAS_FLAGS | Nbd.TF_SEND_FLUSH | Nbd.TF_SEND_FUA | Nbd.TF_CAN_MULTI_CONN
        | Nbd.TF_SEND_CACHE;
    if (readOnly) {
      f |= Nbd.TF_READ_ONLY;
    } else {
      f |= Nbd.TF_SEND_TRIM | Nbd.TF_SEND_WRITE_ZEROES;
    }
    if (structured) {
      // Every read is answered in one data chunk, so "don't fragment" always holds.
      f |= Nbd.TF_SEND_DF;
    }
    return f;
  }

  /** Registers a connection entering transmission; false if the export was removed meanwhile. */
  synchronized boolean attach(NbdConnection c) {
    if (removed) {
      return false;
    }
    connections.add(c);
    return true;
  }

  synchronized void detach(NbdConnection c) {
    connections.remove(c);
  }

  /** Marks the export removed and returns the connections to close. */
  synchronized List<NbdConnection> remove() {
    removed = true;
    List<NbdConnection> all = new ArrayList<>(connections);
    connections.clear();
    return all;
  }
}
