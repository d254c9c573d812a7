package io.replica.storage.vhdx;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Objects;

/**
 * A VHDX file breaks the format: a checksum does not match, a field is out of range, or two
 * structures contradict each other.
 *
 * <p>It is an {@link IOException} because it surfaces from the storage SPI's I/O methods; callers
 * that must tell "the medium failed" from "the file is damaged" (the engine reports the latter as
 * corrupt data and stops the relationship) catch this type. The message names the file, the
 * structure and its file offset, so that an operator can compare with a backup or run {@code
 * replica disk check}.
 */
public final class CorruptDiskException extends IOException {

  private static final long serialVersionUID = 1L;

  private final String structure;
  private final long fileOffset;

  /**
   * @param file the VHDX file
   * @param structure the damaged structure, such as {@code "header 1"} or {@code "BAT entry 17"}
   * @param fileOffset where the structure (or the bad field) starts in the file
   * @param problem what is wrong with it
   */
  public CorruptDiskException(Path file, String structure, long fileOffset, String problem) {
    super(
        "VHDX file '" + file + "' is corrupt: " + structure + " at file offset " + fileOffset
            + ": " + problem
            + " (the file cannot be used as it is; run 'replica disk check' on it and restore it"
            + " from a copy)");
    this.structure = Objects.requireNonNull(structure, "structure");
    this.fileOffset = fileOffset;
  }

  /** The damaged structure, such as {@code "header 1"} or {@code "BAT entry 17"}. */
  public String structure() {
    return structure;
  }

  /** The file offset of the damaged structure or field. */
  public long fileOffset() {
    return fileOffset;
  }
}
