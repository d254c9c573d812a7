package io.replica.core.internal;

import org.jspecify.annotations.Nullable;

/**
 * Deliberately broken behaviours. The simulation's own tests switch one on to prove that the
 * simulation catches it and names the invariant it breaks; nothing else may. Exported only to the
 * testkit.
 */
public enum Mutation {
  /** The replica acknowledges a cycle before its journal is durable. */
  ACK_BEFORE_DURABLE,
  /** The replica applies pending cycles newest first. */
  APPLY_OUT_OF_ORDER,
  /** Guest writes to frozen blocks do not preserve the old content. */
  COPY_BEFORE_WRITE_SKIPPED,
  /** A duplicate of a cycle's end applies the cycle a second time. */
  DUPLICATE_APPLIED_TWICE;

  private static volatile @Nullable Mutation active;

  /** Switches {@code mutation} on (null switches every mutation off). */
  public static void activate(@Nullable Mutation mutation) {
    active = mutation;
  }

  static boolean on(Mutation mutation) {
    return active == mutation;
  }
}
