package io.replica.core.tracking;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;

/**
 * The old contents of frozen blocks that guest writes overwrote before the sender read them: held
 * in memory while the machine's budget lasts, then appended to a spill file that is deleted when
 * the cycle ends. Guarded by the owning {@link DiskTracker}'s monitor.
 */
final class PreservedBlocks implements Closeable {
  private final AtomicLong budget;
  private final Path spillDirectory;
  private final Map<Long, byte[]> memory = new HashMap<>();
  /** Block number to file offset; the length is the block's length. */
  private final Map<Long, Long> spilled = new HashMap<>();
  private long memoryBytes;
  private @Nullable FileChannel spill;
  private long spillSize;

  PreservedBlocks(AtomicLong budget, Path spillDirectory) {
    this.budget = budget;
    this.spillDirectory = spillDirectory;
  }

  void put(long block, byte[] data) throws IOException {
    if (budget.addAndGet(-data.length) >= 0) {
      memory.put(block, data);
      memoryBytes += data.length;
      return;
    }
    budget.addAndGet(data.length);
    FileChannel channel = spill;
    if (channel == null) {
      Files.createDirectories(spillDirectory);
      Path file = Files.createTempFile(spillDirectory, "replica-cbw-", ".spill");
      channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE,
          StandardOpenOption.DELETE_ON_CLOSE);
      spill = channel;
    }
    ByteBuffer src = ByteBuffer.wrap(data);
    long at = spillSize;
    while (src.hasRemaining()) {
      channel.write(src, at + src.position());
    }
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
    data = new byte[length];
    ByteBuffer dst = ByteBuffer.wrap(data);
    FileChannel channel = spill;
    while (dst.hasRemaining()) {
      if (channel == null || channel.read(dst, at + dst.position()) < 0) {
        throw new IOException("the copy-before-write spill file ended early at block " + block);
      }
    }
    return data;
  }

  boolean contains(long block) {
    return memory.containsKey(block) || spilled.containsKey(block);
  }

  /** Bytes in the spill file, for tests and statistics. */
  long spilledBytes() {
    return spillSize;
  }

  /** Forgets everything, returns the memory to the budget and deletes the spill file. */
  @Override
  public void close() {
    budget.addAndGet(memoryBytes);
    memoryBytes = 0;
    memory.clear();
    spilled.clear();
    spillSize = 0;
    FileChannel channel = spill;
    spill = null;
    if (channel != null) {
      try {
        channel.close();
      } catch (IOException e) {
        // The file is deleted on close; a failure here leaves at most a temporary file.
      }
    }
  }
}
