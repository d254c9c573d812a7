package io.replica.core.journal;

import io.replica.api.CorruptDataException;
import io.replica.api.VmId;
import io.replica.spi.storage.AppendLog;
import io.replica.spi.storage.StateStore;
import java.io.Closeable;
import java.io.IOException;
import java.util.Locale;

/**
 * One received cycle on the replica, {@code <vm>/journal/cycle-<n>.log}: appended as messages
 * arrive, made durable with its commit record before the cycle is acknowledged, applied, then
 * deleted. A journal without a commit record is an unfinished transfer and is discarded.
 */
public final class CycleJournal implements Closeable {
  private final AppendLog log;

  private CycleJournal(AppendLog log) {
    this.log = log;
  }

  public static String directory(VmId vm) {
    return vm + "/journal/";
  }

  public static String name(VmId vm, long cycle) {
    return directory(vm) + String.format(Locale.ROOT, "cycle-%020d.log", cycle);
  }

  /** The cycle number in a journal name, or -1 if the name is not a journal's. */
  public static long cycleOf(String name) {
    int slash = name.lastIndexOf('/');
    String file = name.substring(slash + 1);
    if (!file.startsWith("cycle-") || !file.endsWith(".log")) {
      return -1;
    }
    try {
      return Long.parseLong(file.substring(6, file.length() - 4));
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /** Starts a journal, replacing what an abandoned transfer of the same cycle left. */
  public static CycleJournal create(StateStore state, VmId vm, long cycle) throws IOException {
    String name = name(vm, cycle);
    state.delete(name);
    return new CycleJournal(state.openLog(name));
  }

  public void append(JournalRecord record) throws IOException {
    log.append(JournalCodec.encode(record));
  }

  /** Appends the commit record and makes the whole journal durable. */
  public void commit(JournalRecord.Commit commit) throws IOException {
    append(commit);
    log.sync();
  }

  @Override
  public void close() throws IOException {
    log.close();
  }

  /** Receives the records of a journal in order. */
  public interface RecordSink {
    void accept(JournalRecord record) throws IOException;
  }

  /**
   * Reads a journal's records in order and returns whether it ends with a commit record. A torn
   * tail (a record cut short by a crash) ends the journal.
   *
   * @throws CorruptDataException if a whole record fails its checksum
   */
  public static boolean read(StateStore state, String name, RecordSink sink) throws IOException {
    boolean[] committed = {false};
    try (AppendLog log = state.openLog(name)) {
      RecordReader.readAll(log, false, (position, r) -> {
        if (committed[0]) {
          throw new CorruptDataException(name + " holds records after its commit record");
        }
        committed[0] = r instanceof JournalRecord.Commit;
        sink.accept(r);
      });
    }
    return committed[0];
  }

}
