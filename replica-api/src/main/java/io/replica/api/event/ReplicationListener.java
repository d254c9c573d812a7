package io.replica.api.event;

/**
 * Receives replication events. Called on the engine's scheduler, one event at a time; must return
 * quickly and must not call back into the engine synchronously.
 */
@FunctionalInterface
public interface ReplicationListener {

  /** An event happened. */
  void onEvent(ReplicationEvent event);
}
