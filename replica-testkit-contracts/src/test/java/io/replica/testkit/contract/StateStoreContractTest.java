package io.replica.testkit.contract;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replica.spi.storage.AppendLog;
import io.replica.spi.storage.StateStore;
import io.replica.spi.storage.StorageNames;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Checks {@link StateStoreContract} itself: a correct store passes every rule, and each
 * deliberately broken store fails the rule it breaks and no other. All stores here are wrong on
 * purpose except {@link Reference} and {@link WithoutReopen}.
 */
class StateStoreContractTest {

  @Test
  void correctStorePassesEveryRule() {
    KitRun.of(Reference.class).assertFailedOnly(Set.of(), Set.of());
  }

  @Test
  void withoutReopenHookTheDurabilityRulesAreSkippedWithTheirReason() {
    KitRun run =
        KitRun.of(WithoutReopen.class).assertFailedOnly(Set.of(), Set.of("D3.4", "D3.11"));
    assertTrue(run.skipped.get("D3.4").contains("override reopen"), run.skipped::toString);
    assertTrue(run.skipped.get("D3.11").contains("override reopen"), run.skipped::toString);
  }

  @Test
  void readOfAMissingDocumentThatThrowsFailsD3_1() {
    KitRun.of(MissingReadThrows.class).assertFailedOnly(Set.of("D3.1"), Set.of());
  }

  @Test
  void writeThatKeepsTheOldTailFailsD3_2() {
    KitRun.of(WriteKeepsOldTail.class).assertFailedOnly(Set.of("D3.2"), Set.of());
  }

  @Test
  void sharingTheCallersArraysFailsD3_3() {
    KitRun.of(SharesCallersArrays.class).assertFailedOnly(Set.of("D3.3"), Set.of());
  }

  @Test
  void documentsLostOnRestartFailD3_4() {
    KitRun.of(LosesDocumentsOnRestart.class).assertFailedOnly(Set.of("D3.4"), Set.of());
  }

  @Test
  void appendsHiddenUntilSyncFailD3_6() {
    KitRun.of(AppendsHiddenUntilSync.class).assertFailedOnly(Set.of("D3.6"), Set.of());
  }

  @Test
  void appendThatLeavesThePositionFailsD3_7() {
    KitRun.of(AppendLeavesPosition.class).assertFailedOnly(Set.of("D3.7"), Set.of());
  }

  @Test
  void readPastTheEndThatPadsWithZerosFailsD3_8() {
    KitRun.of(ReadPastEndPadsZeros.class).assertFailedOnly(Set.of("D3.8"), Set.of());
  }

  @Test
  void secondHandleOfAnOpenLogFailsD3_9() {
    KitRun.of(SecondOpenOfALogAllowed.class).assertFailedOnly(Set.of("D3.9"), Set.of());
  }

  @Test
  void syncOfAnEmptyLogThatThrowsFailsD3_10() {
    KitRun.of(SyncOfEmptyLogThrows.class).assertFailedOnly(Set.of("D3.10"), Set.of());
  }

  @Test
  void syncThatIsNotDurableFailsD3_11() {
    KitRun.of(SyncIsNotDurable.class).assertFailedOnly(Set.of("D3.11"), Set.of());
  }

  @Test
  void truncateThatDoesNothingFailsD3_12() {
    KitRun.of(TruncateDoesNothing.class).assertFailedOnly(Set.of("D3.12"), Set.of());
  }

  @Test
  void deleteOfAMissingNameThatThrowsFailsD3_13() {
    KitRun.of(DeleteOfMissingThrows.class).assertFailedOnly(Set.of("D3.13"), Set.of());
  }

  @Test
  void listingDocumentsBeforeLogsFailsD3_14() {
    KitRun.of(ListsDocumentsBeforeLogs.class).assertFailedOnly(Set.of("D3.14"), Set.of());
  }

  @Test
  void cleaningUpInvalidNamesFailsD3_15() {
    KitRun.of(SanitizesInvalidNames.class).assertFailedOnly(Set.of("D3.15"), Set.of());
  }

  /** Runs the kit on a {@link RefStateStore} seen through {@link #wrap}; reopen is a restart. */
  @ExtendWith(SelfTestOnly.class)
  abstract static class Kit extends StateStoreContract<StateStore> {
    private final Map<StateStore, RefStateStore> references = new IdentityHashMap<>();

    @Override
    protected final StateStore createStore() {
      return wrapped(new RefStateStore());
    }

    @Override
    protected Optional<StateStore> reopen(StateStore store) {
      return Optional.of(wrapped(restart(references.get(store))));
    }

    RefStateStore restart(RefStateStore store) {
      return store.restarted();
    }

    StateStore wrap(RefStateStore store) {
      return store;
    }

    private StateStore wrapped(RefStateStore reference) {
      StateStore store = wrap(reference);
      references.put(store, reference);
      return store;
    }
  }

  static final class Reference extends Kit {}

  static final class WithoutReopen extends Kit {
    @Override
    protected Optional<StateStore> reopen(StateStore store) {
      return Optional.empty();
    }
  }

  static final class MissingReadThrows extends Kit {
    @Override
    StateStore wrap(RefStateStore store) {
      return new ForwardingStateStore(store) {
        @Override
        public Optional<byte[]> read(String name) throws IOException {
          return Optional.of(delegate.read(name).orElseThrow(() -> new NoSuchFileException(name)));
        }
      };
    }
  }

  /** Overwrites in place without cutting the document to the new length. */
  static final class WriteKeepsOldTail extends Kit {
    @Override
    StateStore wrap(RefStateStore store) {
      return new ForwardingStateStore(store) {
        @Override
        public void write(String name, byte[] content) throws IOException {
          byte[] old = delegate.read(name).orElse(new byte[0]);
          if (old.length > content.length) {
            System.arraycopy(content, 0, old, 0, content.length);
            delegate.write(name, old);
          } else {
            delegate.write(name, content);
          }
        }
      };
    }
  }

  /** Caches the arrays it was given and hands the same arrays out again. */
  static final class SharesCallersArrays extends Kit {
    @Override
    StateStore wrap(RefStateStore store) {
      Map<String, byte[]> cache = new HashMap<>();
      return new ForwardingStateStore(store) {
        @Override
        public void write(String name, byte[] content) throws IOException {
          delegate.write(name, content);
          cache.put(name, content);
        }

        @Override
        public Optional<byte[]> read(String name) throws IOException {
          Optional<byte[]> stored = delegate.read(name);
          return stored.isPresent() && cache.containsKey(name)
              ? Optional.of(cache.get(name))
              : stored;
        }

        @Override
        public void delete(String name) throws IOException {
          delegate.delete(name);
          cache.remove(name);
        }
      };
    }
  }

  static final class LosesDocumentsOnRestart extends Kit {
    @Override
    RefStateStore restart(RefStateStore store) {
      return store.restartedWithoutDocuments();
    }
  }

  /** Buffers appends until sync, so size and read lag behind. */
  static final class AppendsHiddenUntilSync extends Kit {
    @Override
    StateStore wrap(RefStateStore store) {
      return new ForwardingStateStore(store) {
        @Override
        public AppendLog openLog(String name) throws IOException {
          ByteArrayOutputStream pending = new ByteArrayOutputStream();
          return new ForwardingLog(delegate.openLog(name)) {
            @Override
            public void append(ByteBuffer src) {
              byte[] bytes = new byte[src.remaining()];
              src.get(bytes);
              pending.write(bytes, 0, bytes.length);
            }

            @Override
            public void sync() throws IOException {
              delegate.append(ByteBuffer.wrap(pending.toByteArray()));
              pending.reset();
              delegate.sync();
            }

            @Override
            public void close() throws IOException {
              delegate.append(ByteBuffer.wrap(pending.toByteArray()));
              delegate.close();
            }
          };
        }
      };
    }
  }

  static final class AppendLeavesPosition extends Kit {
    @Override
    StateStore wrap(RefStateStore store) {
      return new ForwardingStateStore(store) {
        @Override
        public AppendLog openLog(String name) throws IOException {
          return new ForwardingLog(delegate.openLog(name)) {
            @Override
            public void append(ByteBuffer src) throws IOException {
              delegate.append(src.duplicate());
            }
          };
        }
      };
    }
  }

  static final class ReadPastEndPadsZeros extends Kit {
    @Override
    StateStore wrap(RefStateStore store) {
      return new ForwardingStateStore(store) {
        @Override
        public AppendLog openLog(String name) throws IOException {
          return new ForwardingLog(delegate.openLog(name)) {
            @Override
            public void read(long position, ByteBuffer dst) throws IOException {
              long available = Math.max(0, delegate.size() - position);
              if (available >= dst.remaining()) {
                delegate.read(position, dst);
                return;
              }
              ByteBuffer part = dst.duplicate();
              part.limit(part.position() + (int) available);
              delegate.read(position, part);
              for (int i = part.position(); i < dst.limit(); i++) {
                dst.put(i, (byte) 0);
              }
              dst.position(dst.limit());
            }
          };
        }
      };
    }
  }

  /** Hands out the open handle again instead of refusing a second one. */
  static final class SecondOpenOfALogAllowed extends Kit {
    @Override
    StateStore wrap(RefStateStore store) {
      Map<String, AppendLog> open = new HashMap<>();
      return new ForwardingStateStore(store) {
        @Override
        public AppendLog openLog(String name) throws IOException {
          try {
            AppendLog log = delegate.openLog(name);
            open.put(name, log);
            return log;
          } catch (FileSystemException e) {
            return new ForwardingLog(open.get(name)) {
              @Override
              public void close() {}
            };
          }
        }
      };
    }
  }

  /** Like fsync of a file that does not exist yet. */
  static final class SyncOfEmptyLogThrows extends Kit {
    @Override
    StateStore wrap(RefStateStore store) {
      return new ForwardingStateStore(store) {
        @Override
        public AppendLog openLog(String name) throws IOException {
          return new ForwardingLog(delegate.openLog(name)) {
            @Override
            public void sync() throws IOException {
              if (delegate.size() == 0) {
                throw new NoSuchFileException(name, null, "nothing written yet");
              }
              delegate.sync();
            }
          };
        }
      };
    }
  }

  static final class SyncIsNotDurable extends Kit {
    @Override
    StateStore wrap(RefStateStore store) {
      return new ForwardingStateStore(store) {
        @Override
        public AppendLog openLog(String name) throws IOException {
          return new ForwardingLog(delegate.openLog(name)) {
            @Override
            public void sync() throws IOException {
              delegate.size();
            }
          };
        }
      };
    }
  }

  static final class TruncateDoesNothing extends Kit {
    @Override
    StateStore wrap(RefStateStore store) {
      return new ForwardingStateStore(store) {
        @Override
        public AppendLog openLog(String name) throws IOException {
          return new ForwardingLog(delegate.openLog(name)) {
            @Override
            public void truncate(long sizeBytes) throws IOException {
              if (sizeBytes < 0 || sizeBytes > delegate.size()) {
                throw new IllegalArgumentException("cannot truncate to " + sizeBytes);
              }
            }
          };
        }
      };
    }
  }

  static final class DeleteOfMissingThrows extends Kit {
    @Override
    StateStore wrap(RefStateStore store) {
      return new ForwardingStateStore(store) {
        @Override
        public void delete(String name) throws IOException {
          if (delegate.read(name).isEmpty() && !delegate.list(name).contains(name)) {
            throw new NoSuchFileException(name);
          }
          delegate.delete(name);
        }
      };
    }
  }

  /** Lists two folders one after the other: documents first, then logs. */
  static final class ListsDocumentsBeforeLogs extends Kit {
    @Override
    StateStore wrap(RefStateStore store) {
      return new ForwardingStateStore(store) {
        @Override
        public List<String> list(String prefix) throws IOException {
          List<String> documents = new ArrayList<>();
          List<String> logs = new ArrayList<>();
          for (String name : delegate.list(prefix)) {
            (delegate.read(name).isPresent() ? documents : logs).add(name);
          }
          documents.addAll(logs);
          return documents;
        }
      };
    }
  }

  static final class SanitizesInvalidNames extends Kit {
    @Override
    StateStore wrap(RefStateStore store) {
      return new ForwardingStateStore(store) {
        @Override
        public void write(String name, byte[] content) throws IOException {
          delegate.write(clean(name), content);
        }

        @Override
        public Optional<byte[]> read(String name) throws IOException {
          return delegate.read(clean(name));
        }

        @Override
        public AppendLog openLog(String name) throws IOException {
          return delegate.openLog(clean(name));
        }

        @Override
        public void delete(String name) throws IOException {
          delegate.delete(clean(name));
        }
      };
    }

    private static String clean(String name) {
      try {
        return StorageNames.check(name);
      } catch (IllegalArgumentException e) {
        String cleaned = "n" + name.replaceAll("[^A-Za-z0-9]", "_");
        return cleaned.substring(0, Math.min(100, cleaned.length()));
      }
    }
  }
}
