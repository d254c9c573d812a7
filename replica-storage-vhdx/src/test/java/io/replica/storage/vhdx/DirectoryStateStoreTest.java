package io.replica.storage.vhdx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** D3.5: a crash during a document write leaves the old content (write, force, rename). */
class DirectoryStateStoreTest {

  @TempDir Path dir;

  @Test
  void aWriteInterruptedBeforeItsRenameLeavesTheOldDocument() throws Exception {
    DirectoryStateStore store = new DirectoryStateStore(dir);
    store.write("vm-1/replica.json", new byte[] {1, 2, 3});
    // What a crash after writing the temporary file and before the rename leaves behind.
    Files.write(dir.resolve("vm-1/.tmp-replica.json-0b5e"), new byte[] {9, 9});
    DirectoryStateStore reopened = new DirectoryStateStore(dir);
    assertArrayEquals(new byte[] {1, 2, 3}, reopened.read("vm-1/replica.json").orElseThrow());
    assertEquals(List.of("vm-1/replica.json"), reopened.list(""));
    reopened.write("vm-1/replica.json", new byte[] {4});
    assertArrayEquals(new byte[] {4}, reopened.read("vm-1/replica.json").orElseThrow());
  }
}
