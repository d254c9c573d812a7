package io.replica.testkit.contract;

import io.replica.spi.storage.AppendLog;
import io.replica.spi.storage.StateStore;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Optional;

/** A store that passes every call on; broken variants override the one call they get wrong. */
class ForwardingStateStore implements StateStore {

  final StateStore delegate;

  ForwardingStateStore(StateStore delegate) {
    this.delegate = delegate;
  }

  @Override
  public void write(String name, byte[] content) throws IOException {
    delegate.write(name, content);
  }

  @Override
  public Optional<byte[]> read(String name) throws IOException {
    return delegate.read(name);
  }

  @Override
  public AppendLog openLog(String name) throws IOException {
    return delegate.openLog(name);
  }

  @Override
  public void delete(String name) throws IOException {
    delegate.delete(name);
  }

  @Override
  public List<String> list(String prefix) throws IOException {
    return delegate.list(prefix);
  }

  /** A log that passes every call on. */
  static class ForwardingLog implements AppendLog {
    final AppendLog delegate;

    ForwardingLog(AppendLog delegate) {
      this.delegate = delegate;
    }

    @Override
    public long size() throws IOException {
      return delegate.size();
    }

    @Override
    public void append(ByteBuffer src) throws IOException {
      delegate.append(src);
    }

    @Override
    public void sync() throws IOException {
      delegate.sync();
    }

    @Override
    public void read(long position, ByteBuffer dst) throws IOException {
      delegate.read(position, dst);
    }

    @Override
    public void truncate(long sizeBytes) throws IOException {
      delegate.truncate(sizeBytes);
    }

    @Override
    public void close() throws IOException {
      delegate.close();
    }
  }
}
