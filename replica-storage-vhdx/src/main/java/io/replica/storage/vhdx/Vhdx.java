package io.replica.storage.vhdx;

/** Facts about the VHDX format that users of this module may need. */
public final class Vhdx {
  /** The file name extension of a VHDX disk. */
  public static final String EXTENSION = ".vhdx";

  private Vhdx() {}
}
