package io.replica.transport.netty.internal.handler;

import java.io.IOException;
import org.jspecify.annotations.Nullable;

/**
 * Keeps Netty's types inside this module: a failure handed to the engine (a connect future, an
 * onClosed cause) carries JDK exceptions only. A Netty exception in a chain is replaced by an
 * IOException with the same message, naming the original type.
 */
public final class Causes {
  private Causes() {}

  /** {@code t}, or an equivalent whose chain holds no Netty type. */
  public static @Nullable Throwable scrub(@Nullable Throwable t) {
    if (t == null) {
      return null;
    }
    boolean netty = t.getClass().getName().startsWith("io.netty.");
    Throwable cause = t.getCause() == t ? null : t.getCause();
    Throwable cleanCause = scrub(cause);
    if (!netty && cleanCause == cause) {
      return t;
    }
    if (!netty) {
      // A JDK exception with a Netty cause: keep it, with the cause replaced.
      Throwable copy = copyOf(t);
      if (copy != null) {
        if (cleanCause != null) {
          copy.initCause(cleanCause);
        }
        copy.setStackTrace(t.getStackTrace());
        return copy;
      }
    }
    IOException replaced = new IOException(t.getMessage() == null
        ? t.getClass().getSimpleName() : t.getMessage() + " (" + t.getClass().getSimpleName()
        + ")");
    if (cleanCause != null) {
      replaced.initCause(cleanCause);
    }
    replaced.setStackTrace(t.getStackTrace());
    return replaced;
  }

  private static @Nullable Throwable copyOf(Throwable t) {
    try {
      return t.getClass().getConstructor(String.class).newInstance(t.getMessage());
    } catch (ReflectiveOperationException | RuntimeException e) {
      return null;
    }
  }
}
