package io.replica.core.verify;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;

/** The strong block hash of resynchronization: the first 16 bytes of SHA-256. */
public final class BlockHashes {
  public static final int HASH_BYTES = 16;
  private final MessageDigest sha256;

  public BlockHashes() {
    try {
      sha256 = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK lacks SHA-256", e);
    }
  }

  /** The hash of {@code data[from, to)} into {@code out} at {@code at}. */
  public void hash(byte[] data, int from, int to, byte[] out, int at) {
    sha256.update(data, from, to - from);
    System.arraycopy(sha256.digest(), 0, out, at, HASH_BYTES);
  }

  public static boolean same(byte[] a, int aAt, byte[] b, int bAt) {
    return Arrays.equals(a, aAt, aAt + HASH_BYTES, b, bAt, bAt + HASH_BYTES);
  }
}
