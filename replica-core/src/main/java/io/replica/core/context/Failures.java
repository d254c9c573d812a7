package io.replica.core.context;

import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/** Turns failures into the text that messages, logs and events carry. */
public final class Failures {
  private Failures() {}

  /** The message of the cause a future's wrapper hides, or the exception's type if it has none. */
  public static String describe(Throwable e) {
    Throwable t = e;
    while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
      t = t.getCause();
    }
    return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
  }
}
