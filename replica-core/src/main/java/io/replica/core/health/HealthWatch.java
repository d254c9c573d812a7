package io.replica.core.health;

import io.replica.api.HealthState;
import io.replica.api.ReplicationHealth;
import io.replica.api.VmId;
import io.replica.api.event.ReplicationEvent;
import io.replica.core.context.EngineContext;

/** Emits an event when a relationship's health level changes. Guarded by the engine lock. */
public final class HealthWatch {
  private final EngineContext engine;
  private final VmId vm;
  private HealthState last = HealthState.NORMAL;

  public HealthWatch(EngineContext engine, VmId vm) {
    this.engine = engine;
    this.vm = vm;
  }

  public void update(ReplicationHealth health) {
    if (health.state() != last) {
      HealthState from = last;
      last = health.state();
      engine.emit(new ReplicationEvent.HealthChanged(vm, engine.clock().instant(), from, health));
    }
  }
}
