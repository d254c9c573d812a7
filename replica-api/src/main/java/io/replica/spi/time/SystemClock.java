package io.replica.spi.time;

import java.time.Instant;

enum SystemClock implements Clock {
  INSTANCE;

  @Override
  public Instant instant() {
    return Instant.now();
  }

  @Override
  public long nanoTime() {
    return System.nanoTime();
  }
}
