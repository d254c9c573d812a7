package io.replica.core.tracking;

import io.replica.spi.storage.AppendLog;
import io.replica.spi.storage.StateStore;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The old contents of frozen blocks that guest writes overwrote before the sender read them: held
 * in memory while the machine's budget lasts, then appended to a spill log in the spill store,
 * deleted when the cycle ends. Without a spill store they stay in memory past the budget.
 * Guarded by the owning {@link DiskTracker}'s monitor.
 */
final class PreservedBlocks implements Closeable {
  private static final Logger LOG = LoggerFactory.getLogger(PreservedBlocks.class);

  private final AtomicLong budget;
  private final @Nullable StateStore spillStore;
  private final String spillName;
  private final Map<Long, byte[]> memory = new HashMap<>();
  /** Block number to log position; the length is the block's length. */
  private final Map<Long, Long> spilled = new HashMap<>();
  private long memoryBytes;
  private @Nullable AppendLog spill;
  private long spillSize;

  /**
   * @param spillName the spill log's name in {@code spillStore}, unique among the host's trackers
   */
  PreservedBlocks(AtomicLong budget, @Nullable StateStore spillStore, String spillName) {
    this.budget = budget;
    this.spillStore = spillStore;
    this.spillName = spillName;
  }

  void put(long block, byte[] data) throws IOException {
    StateStore store = spillStore;
    if (budget.addAndGet(-data.length) >= 0 || store == null) {
      memory.put(block, data);
      memoryBytes += data.length;
      return;
    }
    budget.addAndGet(data.length);
    AppendLog log = spill;
    if (log == null) {
      store.delete(spillName); // what a crash left
      log = store.openLog(spillName);
      spill = log;
    }
    long at = spillSize;
    log.append(ByteBuffer.wrap(data));
    spilled.put(block, at);
    spillSize += data.length;
  }

  /** Removes and returns the preserved content of {@code block}, or null if there is none. */
  byte @Nullable [] take(long block, int length) throws IOException {
    byte[] data = memory.remove(block);
    if (data != null) {
      memoryBytes -= data.length;
      budget.addAndGet(data.length);
      return data;
    }
    Long at = spilled.remove(block);
    if (at == null) {
      return null;
    }
    AppendLog log = spill;
    if (log == null) {
      throw new IOException("the copy-before-write spill log " + spillName + " is gone at block " + block);
    }
    data = new byte[length];
    log.read(at, ByteBuffer.wrap(data));
    return data;
  }

  boolean contains(long block) {
    return memory.containsKey(block) || spilled.containsKey(block);
  }

  /** Bytes in the spill log, for tests and statistics. */
  long spilledBytes() {
    return spillSize;
  }

  /** Forgets everything, returns the memory to the budget and deletes the spill log. */
  @Override
  public void close() {
    budget.addAndGet(memoryBytes);
    memoryBytes = 0;
    memory.clear();
    spilled.clear();
    spillSize = 0;
    AppendLog log = spill;
    spill = null;
    if (log != null) {
      try {
        log.close();
        spillStore.delete(spillName);
      } catch (IOException e) {
        // The host deletes every spill log when its engine starts; at most this one is left until then.
        LOG.warn("cannot delete the copy-before-write spill log {}: {}", spillName, e.toString());
      }
    }
  }
}
