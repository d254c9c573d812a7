package io.replica.testkit.contract;

import io.replica.spi.storage.VirtualDisk;
import io.replica.testkit.memory.ForwardingVirtualDisk;

/** A disk that passes every call on; broken variants override the one call they get wrong. */
class ForwardingDisk extends ForwardingVirtualDisk {

  ForwardingDisk(VirtualDisk delegate) {
    super(delegate);
  }
}
