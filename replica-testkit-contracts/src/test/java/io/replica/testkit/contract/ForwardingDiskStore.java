package io.replica.testkit.contract;

import io.replica.spi.storage.DiskSpec;
import io.replica.spi.storage.DiskStore;
import io.replica.spi.storage.VirtualDisk;
import java.io.IOException;

/** A store that passes every call on; broken variants override the one call they get wrong. */
class ForwardingDiskStore implements DiskStore {

  final RefDiskStore delegate;

  ForwardingDiskStore(RefDiskStore delegate) {
    this.delegate = delegate;
  }

  @Override
  public VirtualDisk create(String name, DiskSpec spec) throws IOException {
    return delegate.create(name, spec);
  }

  @Override
  public VirtualDisk open(String name, boolean readOnly) throws IOException {
    return delegate.open(name, readOnly);
  }

  @Override
  public boolean exists(String name) throws IOException {
    return delegate.exists(name);
  }

  @Override
  public void delete(String name) throws IOException {
    delegate.delete(name);
  }

  @Override
  public void close() throws IOException {
    delegate.close();
  }

  /** A crash of the medium under the store (see {@link RefDiskStore#crash()}). */
  void crash() {
    delegate.crash();
  }
}
