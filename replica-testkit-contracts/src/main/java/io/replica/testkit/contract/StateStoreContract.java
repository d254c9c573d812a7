package io.replica.testkit.contract;

import static io.replica.testkit.contract.ContractSupport.INVALID_NAMES;
import static io.replica.testkit.contract.ContractSupport.assertSameBytes;
import static io.replica.testkit.contract.ContractSupport.pattern;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.replica.spi.storage.AppendLog;
import io.replica.spi.storage.StateStore;
import io.replica.spi.storage.StorageNames;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.FileSystemException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The conformance kit for {@link StateStore} and its {@link AppendLog}s: checks rules D3.1 to
 * D3.15 of {@code docs/spi-rules.md} (all but D3.5, which needs crash injection), so that the
 * engine's settings document and cycle journal behave the same on every medium.
 *
 * <p>Extend it in your test tree and implement {@link #createStore()}; override {@link
 * #reopen(StateStore)} if the store can be opened again on the same medium, which checks
 * durability (D3.4, D3.11):
 *
 * <pre>{@code
 * class FileStateStoreContractTest extends StateStoreContract<FileStateStore> {
 *   protected FileStateStore createStore() throws IOException {
 *     return new FileStateStore(Files.createTempDirectory("state"));
 *   }
 *   protected Optional<FileStateStore> reopen(FileStateStore store) {
 *     return Optional.of(new FileStateStore(store.root()));
 *   }
 * }
 * }</pre>
 *
 * <p>The store is created lazily, on the first use inside each test. After each test the kit
 * closes every log it opened, then every store it was given that is {@link AutoCloseable}. Test
 * methods are final.
 *
 * @param <S> the store implementation under test
 */
@ExtendWith(RuleIdInFailures.class)
public abstract class StateStoreContract<S extends StateStore> {

  private static final String DOC = "vm-1/replica.json";
  private static final String LOG = "vm-1/journal/cycle-1.log";

  private final ContractSupport.Opened opened = new ContractSupport.Opened();
  private final Deque<S> stores = new ArrayDeque<>();

  /** For subclasses; the kit keeps no state between tests. */
  protected StateStoreContract() {}

  /**
   * Creates a fresh, empty store that no other test shares. Called at most once per test.
   *
   * @return a new store holding no documents and no logs
   * @throws IOException if the medium fails; the test fails with it
   */
  protected abstract S createStore() throws IOException;

  /**
   * Opens a new store on the medium of {@code store}, as the engine does after a restart, for the
   * durability rules D3.4 and D3.11; by default they show as skipped. The kit closes every log of
   * {@code store} first and uses only the returned store afterwards.
   *
   * @param store a store made by {@link #createStore()} or by this method
   * @return a store over the same documents and logs, or empty if there is no such thing
   * @throws IOException if the medium fails
   */
  protected Optional<S> reopen(S store) throws IOException {
    return Optional.empty();
  }

  /**
   * Closes every log the test left open, newest first, then every store that is {@link
   * AutoCloseable}, so that tests never leak handles into each other.
   *
   * @throws Exception the first failure to close, with later ones suppressed
   */
  @AfterEach
  public final void closeOpenedLogsAndStores() throws Exception {
    ContractSupport.Opened closables = new ContractSupport.Opened();
    for (S store : stores) {
      if (store instanceof AutoCloseable) {
        closables.add((AutoCloseable) store);
      }
    }
    try {
      opened.closeAll();
    } finally {
      stores.clear();
      closables.closeAll();
    }
  }

  /** D3.1: a document never written, or deleted, reads as empty instead of throwing. */
  @Test
  public final void required_D3_1_readOfAMissingDocumentIsEmpty() throws IOException {
    for (String name : List.of(DOC, "vm-9/none/settings.json")) {
      Optional<byte[]> content = store().read(name);
      assertNotNull(content, "D3.1: read of the missing document '" + name + "' returned null");
      assertFalse(
          content.isPresent(),
          "D3.1: read of the missing document '" + name + "' must return Optional.empty()");
    }
    store().write(DOC, pattern(60, 10));
    store().delete(DOC);
    Optional<byte[]> deleted = store().read(DOC);
    assertNotNull(deleted, "D3.1: read of a deleted document returned null");
    assertFalse(
        deleted.isPresent(), "D3.1: read of a deleted document must return Optional.empty()");
  }

  /** D3.2: read returns exactly the last content written, whatever its length. */
  @Test
  public final void required_D3_2_readReturnsTheLastWrittenContent() throws IOException {
    byte[][] contents = {
      pattern(61, 100), pattern(62, 300), pattern(63, 10), new byte[0], pattern(64, 256 * 1024)
    };
    for (byte[] content : contents) {
      store().write(DOC, content);
      assertSameBytes(
          "D3.2: read after a write of " + content.length + " bytes must return exactly them",
          0, content, readDocument(DOC, "D3.2"));
    }
    byte[] other = pattern(65, 50);
    store().write("vm-1/other.json", other);
    assertSameBytes(
        "D3.2: writing another document must not change this one",
        0, contents[contents.length - 1], readDocument(DOC, "D3.2"));
    assertSameBytes(
        "D3.2: documents of different names must be independent",
        0, other, readDocument("vm-1/other.json", "D3.2"));
    store().write(DOC, new byte[0]);
    assertEquals(
        0, readDocument(DOC, "D3.2").length,
        "D3.2: an empty document must be present and read as an empty array");
  }

  /** D3.3: the caller's arrays, before or after, are not the stored document. */
  @Test
  public final void required_D3_3_storeKeepsItsOwnCopy() throws IOException {
    byte[] content = pattern(66, 64);
    byte[] copy = content.clone();
    store().write(DOC, content);
    Arrays.fill(content, (byte) 0);
    assertSameBytes(
        "D3.3: changing the array passed to write after the call must not change the document",
        0, copy, readDocument(DOC, "D3.3"));
    byte[] read = readDocument(DOC, "D3.3");
    Arrays.fill(read, (byte) 7);
    assertSameBytes(
        "D3.3: changing the array read returned must not change the document",
        0, copy, readDocument(DOC, "D3.3"));
  }

  /** D3.4: a document write has reached the medium when it returns. */
  @Test
  public final void optional_D3_4_writtenDocumentSurvivesReopen() throws IOException {
    byte[] replaced = pattern(67, 500);
    byte[] other = pattern(68, 40);
    store().write(DOC, pattern(69, 500)); // same length: D3.2, not D3.4, checks replacement
    store().write("vm-1/other.json", other);
    store().write(DOC, replaced);
    S reopened = reopenStore("D3.4");
    assertSameBytes(
        "D3.4: a reopened store must read the document last written",
        0, replaced, readDocument(reopened, DOC, "D3.4"));
    assertSameBytes(
        "D3.4: a reopened store must read every document written",
        0, other, readDocument(reopened, "vm-1/other.json", "D3.4"));
  }

  /** D3.6: a new log is empty and listed; appends grow it and are readable before any sync. */
  @Test
  public final void required_D3_6_appendedBytesAreReadableAtOnce() throws IOException {
    AppendLog log = openLog(LOG);
    assertEquals(0, log.size(), "D3.6: a new log must be empty");
    assertTrue(
        store().list("vm-1/journal/").contains(LOG), "D3.6: list must show a newly opened log");
    ByteArrayOutputStream model = new ByteArrayOutputStream();
    int[] lengths = {1, 100, 4096, 70_000, 3};
    for (int i = 0; i < lengths.length; i++) {
      byte[] data = pattern(70 + i, lengths[i]);
      log.append(ByteBuffer.wrap(data));
      model.write(data, 0, data.length);
      assertEquals(
          model.size(), log.size(),
          "D3.6: size must grow by the bytes appended (after " + (i + 1) + " appends)");
      assertSameBytes(
          "D3.6: appended bytes must be readable at once, without sync",
          0, model.toByteArray(), readLog(log, 0, model.size()));
    }
    byte[] all = model.toByteArray();
    int[][] reads = {{1, 100}, {101, 4096}, {4000, 70_100}, {all.length - 3, 3}, {5000, 1}};
    for (int[] r : reads) {
      assertSameBytes(
          "D3.6: a read of " + r[1] + " bytes at position " + r[0] + " must return them",
          r[0], Arrays.copyOfRange(all, r[0], r[0] + r[1]), readLog(log, r[0], r[1]));
    }
  }

  /** D3.7: append and read use the bytes between position and limit, and advance position. */
  @Test
  public final void required_D3_7_logBuffersAdvanceToTheirLimit() throws IOException {
    AppendLog log = openLog(LOG);
    ByteArrayOutputStream model = new ByteArrayOutputStream();

    byte[] heap = pattern(80, 110);
    ByteBuffer heapSrc = ByteBuffer.wrap(heap);
    heapSrc.position(3).limit(103);
    appendChecked(log, heapSrc, "a heap buffer with position 3");
    model.write(heap, 3, 100);
    byte[] direct = pattern(81, 64);
    appendChecked(log, ByteBuffer.allocateDirect(64).put(direct).flip(), "a direct buffer");
    model.write(direct, 0, direct.length);
    byte[] readOnly = pattern(82, 32);
    appendChecked(log, ByteBuffer.wrap(readOnly).asReadOnlyBuffer(), "a read-only buffer");
    model.write(readOnly, 0, readOnly.length);
    byte[] sliced = pattern(83, 57);
    appendChecked(log, ByteBuffer.wrap(sliced, 7, 50).slice(), "a sliced buffer");
    model.write(sliced, 7, 50);
    log.sync(); // so that only D3.6 depends on reads before a sync
    byte[] all = model.toByteArray();
    assertEquals(
        all.length, log.size(), "D3.7: append must append exactly the remaining bytes");
    assertSameBytes(
        "D3.7: append must append exactly the bytes between position and limit",
        0, all, readLog(log, 0, all.length));

    byte[] heapDst = new byte[63];
    Arrays.fill(heapDst, (byte) 0x5a);
    ByteBuffer dst = ByteBuffer.wrap(heapDst);
    dst.position(5).limit(55);
    log.read(10, dst);
    assertEquals(55, dst.position(), "D3.7: read must leave the position at the limit");
    assertEquals(55, dst.limit(), "D3.7: read must not change the limit");
    assertSameBytes(
        "D3.7: read must fill exactly the bytes between position and limit",
        10, Arrays.copyOfRange(all, 10, 60), Arrays.copyOfRange(heapDst, 5, 55));
    for (int i : new int[] {0, 4, 55, 62}) {
      assertEquals(
          (byte) 0x5a, heapDst[i], "D3.7: read must not touch byte " + i + " outside the range");
    }
    ByteBuffer directDst = ByteBuffer.allocateDirect(40);
    log.read(100, directDst);
    assertEquals(40, directDst.position(), "D3.7: read must fill a direct buffer");
    byte[] fromDirect = new byte[40];
    directDst.flip().get(fromDirect);
    assertSameBytes(
        "D3.7: read into a direct buffer must return the bytes",
        100, Arrays.copyOfRange(all, 100, 140), fromDirect);
    byte[] slicedDst = new byte[29];
    ByteBuffer sliceDst = ByteBuffer.wrap(slicedDst, 9, 20).slice();
    log.read(150, sliceDst);
    assertEquals(20, sliceDst.position(), "D3.7: read must fill a sliced buffer");
    assertSameBytes(
        "D3.7: read into a sliced buffer must fill the slice",
        150, Arrays.copyOfRange(all, 150, 170), Arrays.copyOfRange(slicedDst, 9, 29));
  }

  /** D3.8: reads that would go past the end throw EOFException; reads up to the end work. */
  @Test
  public final void required_D3_8_readPastTheEndThrowsEof() throws IOException {
    AppendLog log = openLog(LOG);
    assertThrows(
        EOFException.class,
        () -> log.read(0, ByteBuffer.allocate(1)),
        "D3.8: a read of an empty log must throw EOFException");
    byte[] data = pattern(84, 100);
    log.append(ByteBuffer.wrap(data));
    log.sync();
    assertSameBytes(
        "D3.8: a read ending exactly at the end must succeed",
        50, Arrays.copyOfRange(data, 50, 100), readLog(log, 50, 50));
    int[][] pastEnd = {{0, 101}, {99, 2}, {100, 1}, {200, 10}};
    for (int[] r : pastEnd) {
      assertThrows(
          EOFException.class,
          () -> log.read(r[0], ByteBuffer.allocate(r[1])),
          "D3.8: a read of " + r[1] + " bytes at position " + r[0]
              + " of a 100-byte log must throw EOFException");
    }
  }

  /** D3.9: a second openLog of an open log throws FileSystemException; after close it works. */
  @Test
  public final void required_D3_9_aLogHasOneOpenHandle() throws IOException {
    AppendLog first = openLog(LOG);
    byte[] a = pattern(85, 30);
    first.append(ByteBuffer.wrap(a));
    first.sync();
    assertThrows(
        FileSystemException.class,
        () -> opened.add(store().openLog(LOG)),
        "D3.9: openLog of a log that is open must throw FileSystemException");
    byte[] b = pattern(86, 20);
    first.append(ByteBuffer.wrap(b));
    first.sync();
    byte[] ab = concat(a, b);
    assertSameBytes(
        "D3.9: the open handle must keep working after a refused openLog",
        0, ab, readLog(first, 0, ab.length));
    opened.close(first);
    AppendLog second = openLog(LOG);
    assertEquals(
        ab.length, second.size(), "D3.9: a log opened again must have the same size");
    assertSameBytes(
        "D3.9: a log opened again must show the same bytes", 0, ab, readLog(second, 0, ab.length));
  }

  /** D3.10: sync succeeds and changes nothing; appends continue after it. */
  @Test
  public final void required_D3_10_syncKeepsContent() throws IOException {
    AppendLog log = openLog(LOG);
    assertDoesNotThrow(log::sync, "D3.10: sync of an empty log must succeed");
    assertEquals(0, log.size(), "D3.10: sync of an empty log must leave it empty");
    byte[] a = pattern(87, 200);
    log.append(ByteBuffer.wrap(a));
    assertDoesNotThrow(log::sync, "D3.10: sync after appends must succeed");
    assertEquals(a.length, log.size(), "D3.10: sync must not change the size");
    assertSameBytes("D3.10: sync must not change the bytes", 0, a, readLog(log, 0, a.length));
    byte[] b = pattern(88, 50);
    log.append(ByteBuffer.wrap(b));
    log.sync();
    byte[] ab = concat(a, b);
    assertEquals(ab.length, log.size(), "D3.10: appends after a sync must continue at the end");
    assertSameBytes(
        "D3.10: appends after a sync must continue at the end",
        0, ab, readLog(log, 0, ab.length));
  }

  /** D3.11: after a restart each log holds at least what was synced, and only what was appended. */
  @Test
  public final void optional_D3_11_syncedBytesSurviveReopen() throws IOException {
    String other = "vm-1/journal/cycle-2.log";
    AppendLog log = openLog(LOG);
    byte[] synced = pattern(89, 300);
    byte[] unsynced = pattern(90, 100);
    log.append(ByteBuffer.wrap(synced));
    log.sync();
    log.append(ByteBuffer.wrap(unsynced));
    AppendLog second = openLog(other);
    byte[] c = pattern(91, 70);
    second.append(ByteBuffer.wrap(c));
    second.sync();
    S reopened = reopenStore("D3.11");
    assertEquals(
        List.of(LOG, other), reopened.list("vm-1/journal/"),
        "D3.11: a reopened store must list the logs");
    AppendLog again = opened.add(reopened.openLog(LOG));
    long size = again.size();
    byte[] appended = concat(synced, unsynced);
    if (size < synced.length || size > appended.length) {
      fail("D3.11: after reopening, a log must hold between the " + synced.length
          + " synced and the " + appended.length + " appended bytes, but holds " + size);
    }
    assertSameBytes(
        "D3.11: after reopening, a log must hold a prefix of what was appended",
        0, Arrays.copyOf(appended, (int) size), readLog(again, 0, (int) size));
    AppendLog secondAgain = opened.add(reopened.openLog(other));
    assertEquals(c.length, secondAgain.size(), "D3.11: a synced log must keep its size");
    assertSameBytes(
        "D3.11: a synced log must keep its bytes", 0, c, readLog(secondAgain, 0, c.length));
  }

  /** D3.12: truncate cuts the log, later appends land at the cut, and the cut persists. */
  @Test
  public final void required_D3_12_truncateCutsTheLog() throws IOException {
    AppendLog log = openLog(LOG);
    byte[] data = pattern(92, 1000);
    log.append(ByteBuffer.wrap(data));
    log.sync();
    log.truncate(600);
    assertEquals(600, log.size(), "D3.12: truncate(600) must leave 600 bytes");
    assertSameBytes(
        "D3.12: truncate must keep the bytes before the cut",
        0, Arrays.copyOf(data, 600), readLog(log, 0, 600));
    byte[] tail = pattern(93, 50);
    log.append(ByteBuffer.wrap(tail));
    log.sync();
    byte[] expected = concat(Arrays.copyOf(data, 600), tail);
    assertEquals(expected.length, log.size(), "D3.12: an append after truncate must land at the cut");
    assertSameBytes(
        "D3.12: an append after truncate must land at the cut",
        0, expected, readLog(log, 0, expected.length));
    log.truncate(expected.length);
    assertEquals(expected.length, log.size(), "D3.12: truncate to the size must change nothing");
    opened.close(log);
    AppendLog again = openLog(LOG);
    assertEquals(expected.length, again.size(), "D3.12: the cut must hold after reopening the log");
    assertSameBytes(
        "D3.12: the cut must hold after reopening the log",
        0, expected, readLog(again, 0, expected.length));
    again.truncate(0);
    assertEquals(0, again.size(), "D3.12: truncate(0) must empty the log");
  }

  /** D3.13: delete removes documents and closed logs, and does nothing for missing names. */
  @Test
  public final void required_D3_13_deleteRemovesAndIsIdempotent() throws IOException {
    store().write(DOC, pattern(94, 20));
    AppendLog log = openLog(LOG);
    log.append(ByteBuffer.wrap(pattern(95, 20)));
    opened.close(log);
    store().delete(DOC);
    assertFalse(store().list("vm-1/").contains(DOC), "D3.13: a deleted document must not be listed");
    store().delete(LOG);
    assertFalse(store().list("vm-1/").contains(LOG), "D3.13: a deleted log must not be listed");
    AppendLog again = openLog(LOG);
    assertEquals(0, again.size(), "D3.13: a log opened after delete must be empty");
    opened.close(again);
    assertDoesNotThrow(
        () -> store().delete("vm-1/never-written"),
        "D3.13: delete of a name with nothing stored must do nothing");
    assertDoesNotThrow(() -> store().delete(DOC), "D3.13: a second delete must do nothing");
  }

  /** D3.14: list(prefix) returns the matching documents and logs, sorted, each once. */
  @Test
  public final void required_D3_14_listReturnsSortedNamesWithThePrefix() throws IOException {
    assertEquals(List.of(), store().list(""), "D3.14: a fresh store must list nothing");
    List<String> documents =
        List.of("vm-2/replica.json", DOC, "vm-10/replica.json", "vm-1.x", "vm-1-b");
    List<String> logs =
        List.of("vm-1/journal/cycle-10.log", "vm-1/journal/cycle-2.log", LOG);
    for (String document : documents) {
      store().write(document, pattern(96, 8));
    }
    for (String log : logs) {
      openLog(log).append(ByteBuffer.wrap(pattern(97, 8)));
    }
    List<String> all = new ArrayList<>(documents);
    all.addAll(logs);
    for (String prefix :
        List.of("", "vm-1", "vm-1/", "vm-1/journal/", "vm-1/journal/cycle-1", "none")) {
      List<String> expected =
          all.stream().filter(n -> n.startsWith(prefix)).sorted().collect(Collectors.toList());
      assertEquals(
          expected, store().list(prefix),
          "D3.14: list(\"" + prefix + "\") must return the names starting with it, sorted");
    }
  }

  /** D3.15: names that StorageNames.check rejects are refused by every call. */
  @Test
  public final void required_D3_15_invalidNamesAreRejected() throws IOException {
    for (String bad : INVALID_NAMES) {
      assertThrows(
          IllegalArgumentException.class,
          () -> StorageNames.check(bad),
          "kit error: StorageNames.check no longer rejects '" + bad + "'");
      String refused = " of the invalid name '" + bad + "' must throw IllegalArgumentException";
      assertThrows(
          IllegalArgumentException.class,
          () -> store().write(bad, pattern(98, 4)),
          "D3.15: write" + refused);
      assertThrows(
          IllegalArgumentException.class, () -> store().read(bad), "D3.15: read" + refused);
      assertThrows(
          IllegalArgumentException.class,
          () -> opened.add(store().openLog(bad)),
          "D3.15: openLog" + refused);
      assertThrows(
          IllegalArgumentException.class, () -> store().delete(bad), "D3.15: delete" + refused);
    }
    assertEquals(
        List.of(), store().list(""), "D3.15: refused names must not create anything");
  }

  /** The store under test, created on first use in each test; after a reopen, the new one. */
  private S store() throws IOException {
    if (stores.isEmpty()) {
      stores.push(Objects.requireNonNull(createStore(), "createStore returned null"));
    }
    return stores.peek();
  }

  private S reopenStore(String rule) throws IOException {
    S current = store();
    try {
      opened.closeAll();
    } catch (IOException | RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new IOException("closing the logs before reopening the store failed", e);
    }
    Optional<S> next = reopen(current);
    assumeTrue(
        next != null && next.isPresent(),
        rule + " not checked: override reopen(store) to open the store again on the same medium");
    stores.push(next.get());
    return next.get();
  }

  private AppendLog openLog(String name) throws IOException {
    return opened.add(
        Objects.requireNonNull(store().openLog(name), "openLog returned null for " + name));
  }

  private byte[] readDocument(String name, String rule) throws IOException {
    return readDocument(store(), name, rule);
  }

  private static byte[] readDocument(StateStore store, String name, String rule)
      throws IOException {
    Optional<byte[]> content = store.read(name);
    assertNotNull(content, rule + ": read of '" + name + "' returned null");
    assertTrue(
        content.isPresent(),
        rule + ": read of '" + name + "' must return the content written, not empty");
    return content.get();
  }

  private static byte[] readLog(AppendLog log, long position, int length) throws IOException {
    byte[] bytes = new byte[length];
    log.read(position, ByteBuffer.wrap(bytes));
    return bytes;
  }

  private static void appendChecked(AppendLog log, ByteBuffer src, String kind) {
    int limit = src.limit();
    assertDoesNotThrow(() -> log.append(src), "D3.7: append from " + kind + " must work");
    assertEquals(
        limit, src.position(),
        "D3.7: append from " + kind + " must leave its position at its limit");
    assertEquals(limit, src.limit(), "D3.7: append from " + kind + " must not change its limit");
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] both = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, both, a.length, b.length);
    return both;
  }
}
