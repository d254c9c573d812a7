package io.replica.testkit.memory;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replica.spi.storage.AppendLog;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.file.FileSystemException;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class InMemoryStateStoreTest {
  private final InMemoryStateStore store = new InMemoryStateStore();

  private static ByteBuffer bytes(String text) {
    return ByteBuffer.wrap(text.getBytes(UTF_8));
  }

  private static String readAll(AppendLog log) throws IOException {
    ByteBuffer dst = ByteBuffer.allocate((int) log.size());
    log.read(0, dst);
    return new String(dst.array(), UTF_8);
  }

  // ---------------------------------------------------------------- documents

  @Test
  void documentsAreReplacedWholeAndReadAsCopies() throws IOException {
    assertEquals(Optional.empty(), store.read("vm/replica.json"));
    byte[] first = "{\"v\":1}".getBytes(UTF_8);
    store.write("vm/replica.json", first);
    first[0] = 'X'; // the store keeps its own copy
    assertArrayEquals("{\"v\":1}".getBytes(UTF_8), store.read("vm/replica.json").orElseThrow());

    store.write("vm/replica.json", "{\"v\":2}".getBytes(UTF_8));
    byte[] read = store.read("vm/replica.json").orElseThrow();
    read[0] = 'Y';
    assertArrayEquals("{\"v\":2}".getBytes(UTF_8), store.read("vm/replica.json").orElseThrow());
  }

  @Test
  void documentsSurviveACrash() throws IOException {
    store.write("doc", "a".getBytes(UTF_8));
    store.write("doc", "b".getBytes(UTF_8));
    store.simulateCrash(new SplittableRandom(1));
    assertArrayEquals("b".getBytes(UTF_8), store.read("doc").orElseThrow());
  }

  @Test
  void failedDocumentWriteKeepsTheOldContent() throws IOException {
    store.write("doc", "old".getBytes(UTF_8));
    store.failNextWrites(1, "injected: disk gone");
    IOException e = assertThrows(IOException.class,
        () -> store.write("doc", "new".getBytes(UTF_8)));
    assertEquals("injected: disk gone", e.getMessage());
    assertArrayEquals("old".getBytes(UTF_8), store.read("doc").orElseThrow());
  }

  @Test
  void deleteIsIdempotentAndListIsSortedByPrefix() throws IOException {
    store.write("vm2/replica.json", new byte[0]);
    store.write("vm1/replica.json", new byte[0]);
    store.openLog("vm1/journal").close();
    store.write("vm10/replica.json", new byte[0]);

    assertEquals(List.of("vm1/journal", "vm1/replica.json"), store.list("vm1/"));
    assertEquals(List.of("vm1/journal", "vm1/replica.json", "vm10/replica.json"),
        store.list("vm1"));
    assertEquals(4, store.list("").size());
    assertEquals(List.of(), store.list("zzz"));

    store.delete("vm1/replica.json");
    store.delete("vm1/replica.json");
    store.delete("vm1/journal");
    store.delete("never");
    assertEquals(List.of("vm10/replica.json", "vm2/replica.json"), store.list(""));
  }

  @Test
  void namesAreChecked() {
    assertThrows(IllegalArgumentException.class, () -> store.write("../x", new byte[0]));
    assertThrows(IllegalArgumentException.class, () -> store.read("/x"));
    assertThrows(IllegalArgumentException.class, () -> store.openLog(""));
    assertThrows(IllegalArgumentException.class, () -> store.delete("a/../b"));
    assertThrows(NullPointerException.class, () -> store.write("x", null));
    assertThrows(NullPointerException.class, () -> store.list(null));
  }

  @Test
  void aNameIsEitherADocumentOrALog() throws IOException {
    store.write("doc", new byte[0]);
    assertThrows(FileSystemException.class, () -> store.openLog("doc"));
    store.openLog("log").close();
    assertThrows(FileSystemException.class, () -> store.write("log", new byte[0]));
    assertThrows(FileSystemException.class, () -> store.read("log"));
  }

  // ---------------------------------------------------------------- logs

  @Test
  void appendedBytesAreReadableAtOnce() throws IOException {
    try (AppendLog log = store.openLog("journal")) {
      assertEquals(0, log.size());
      ByteBuffer src = bytes("hello ");
      log.append(src);
      assertEquals(0, src.remaining());
      log.append(bytes("world"));
      assertEquals(11, log.size());
      ByteBuffer dst = ByteBuffer.allocate(5);
      log.read(6, dst);
      assertEquals("world", new String(dst.array(), UTF_8));
    }
  }

  @Test
  void largeAppendsSpanPages() throws IOException {
    byte[] data = new byte[200_000];
    new SplittableRandom(4).nextBytes(data);
    try (AppendLog log = store.openLog("big")) {
      log.append(ByteBuffer.wrap(data, 0, 70_000));
      log.append(ByteBuffer.wrap(data, 70_000, 130_000));
      ByteBuffer dst = ByteBuffer.allocate(data.length);
      log.read(0, dst);
      assertArrayEquals(data, dst.array());
      log.truncate(65_536);
      log.append(ByteBuffer.wrap(data, 0, 10));
      ByteBuffer tail = ByteBuffer.allocate(10);
      log.read(65_536, tail);
      assertArrayEquals(java.util.Arrays.copyOf(data, 10), tail.array());
    }
  }

  @Test
  void readPastTheEndThrowsEofAndReadsNothing() throws IOException {
    try (AppendLog log = store.openLog("journal")) {
      log.append(bytes("abc"));
      ByteBuffer dst = ByteBuffer.allocate(4);
      EOFException e = assertThrows(EOFException.class, () -> log.read(0, dst));
      assertTrue(e.getMessage().contains("3 bytes"), e.getMessage());
      assertEquals(0, dst.position());
      assertThrows(EOFException.class, () -> log.read(4, ByteBuffer.allocate(0)));
      assertThrows(IllegalArgumentException.class, () -> log.read(-1, ByteBuffer.allocate(1)));
      log.read(3, ByteBuffer.allocate(0)); // an empty read at the end is fine
    }
  }

  @Test
  void onlyOneHandlePerLog() throws IOException {
    AppendLog first = store.openLog("journal");
    FileSystemException e = assertThrows(FileSystemException.class, () -> store.openLog("journal"));
    assertTrue(e.getMessage().contains("already open"), e.getMessage());
    first.close();
    store.openLog("journal").close();
  }

  @Test
  void deleteOfAnOpenLogFails() throws IOException {
    AppendLog log = store.openLog("journal");
    assertThrows(FileSystemException.class, () -> store.delete("journal"));
    log.close();
    store.delete("journal");
    assertEquals(List.of(), store.list(""));
  }

  @Test
  void closedLogRefusesCalls() throws IOException {
    AppendLog log = store.openLog("journal");
    log.close();
    log.close();
    assertThrows(ClosedChannelException.class, log::size);
    assertThrows(ClosedChannelException.class, () -> log.append(bytes("x")));
    assertThrows(ClosedChannelException.class, log::sync);
    assertThrows(ClosedChannelException.class, () -> log.read(0, ByteBuffer.allocate(0)));
    assertThrows(ClosedChannelException.class, () -> log.truncate(0));
  }

  @Test
  void logContentSurvivesCloseAndReopen() throws IOException {
    try (AppendLog log = store.openLog("journal")) {
      log.append(bytes("kept"));
    }
    try (AppendLog log = store.openLog("journal")) {
      assertEquals("kept", readAll(log));
    }
  }

  @Test
  void crashCutsLogsBackToWhatWasSyncedAndClosesThem() throws IOException {
    AppendLog log = store.openLog("journal");
    log.append(bytes("synced."));
    log.sync();
    log.append(bytes("lost"));
    assertEquals(Optional.of(7L), store.syncedSize("journal"));

    store.simulateCrash();

    ClosedChannelException e = assertThrows(ClosedChannelException.class, log::size);
    assertTrue(e.getMessage().contains("simulated crash"), e.getMessage());
    store.checkNoOpenHandles();
    try (AppendLog reopened = store.openLog("journal")) {
      assertEquals("synced.", readAll(reopened));
    }
  }

  @Test
  void tornCrashKeepsAPrefixAtLeastAsLongAsWhatWasSynced() throws IOException {
    String full = "synced|" + "0123456789".repeat(10);
    boolean sawPartial = false;
    for (long seed = 0; seed < 20; seed++) {
      InMemoryStateStore s = new InMemoryStateStore();
      try (AppendLog log = s.openLog("journal")) {
        log.append(bytes("synced|"));
        log.sync();
        log.append(bytes("0123456789".repeat(10)));
      }
      s.simulateCrash(new SplittableRandom(seed));
      try (AppendLog log = s.openLog("journal")) {
        String survived = readAll(log);
        assertTrue(full.startsWith(survived), survived);
        assertTrue(survived.length() >= "synced|".length(), survived);
        sawPartial |= survived.length() > 7 && survived.length() < full.length();
        assertEquals(Optional.of((long) survived.length()), s.syncedSize("journal"));
      }
    }
    assertTrue(sawPartial, "some seed keeps part of the unsynced tail");
  }

  @Test
  void truncateCutsTheLogAndIsDurable() throws IOException {
    try (AppendLog log = store.openLog("journal")) {
      log.append(bytes("record1record2torn"));
      log.sync();
      log.truncate(14);
      assertEquals(14, log.size());
      assertThrows(IllegalArgumentException.class, () -> log.truncate(15));
      assertThrows(IllegalArgumentException.class, () -> log.truncate(-1));
      log.append(bytes("record3"));
    }
    store.simulateCrash();
    try (AppendLog log = store.openLog("journal")) {
      assertEquals("record1record2", readAll(log));
    }
  }

  @Test
  void failedSyncMakesNothingDurable() throws IOException {
    try (AppendLog log = store.openLog("journal")) {
      log.append(bytes("data"));
      store.failNextSyncs(1, "injected sync failure");
      assertThrows(IOException.class, log::sync);
    }
    store.simulateCrash();
    try (AppendLog log = store.openLog("journal")) {
      assertEquals(0, log.size());
    }
  }

  @Test
  void failedAppendAppendsNothing() throws IOException {
    try (AppendLog log = store.openLog("journal")) {
      store.failNextWrites(1, "injected append failure");
      ByteBuffer src = bytes("data");
      assertThrows(IOException.class, () -> log.append(src));
      assertEquals(0, src.position());
      assertEquals(0, log.size());
    }
  }

  @Test
  void leakCheckNamesOpenLogs() throws IOException {
    store.openLog("journal");
    IllegalStateException e = assertThrows(IllegalStateException.class, store::checkNoOpenHandles);
    assertTrue(e.getMessage().contains("log 'journal'"), e.getMessage());
    assertTrue(e.getCause().getStackTrace().length > 0);
  }
}
