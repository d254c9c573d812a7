package io.replica.core.internal;

import io.replica.api.HealthState;
import io.replica.api.ReplicationHealth;
import io.replica.api.VmId;
import io.replica.api.event.ReplicationEvent;

/** Emits an event when a relationship's health level changes. Guarded by the engine lock. */
final class HealthWatch {
  private final Engine engine;
  private final VmId vm;
  private HealthState last = HealthState.NORMAL;

  HealthWatch(Engine engine, VmId vm) {
    this.engine = engine;
    this.vm = vm;
  }

  void update(ReplicationHealth health) {
    if (health.state() != last) {
      HealthState from = last;
      last = health.state();
      engine.emit(new ReplicationEvent.HealthChanged(vm, engine.clock().instant(), from, health));
    }
  }
}
