package io.replica.example;

import io.replica.api.AuthenticationType;
import io.replica.api.ReplicaServerSettings;
import io.replica.api.ReplicationManager;
import io.replica.api.ReplicationSettings;
import io.replica.api.VirtualMachine;
import io.replica.core.ReplicaEngine;
import io.replica.spi.storage.VirtualDisk;
import io.replica.spi.time.Scheduler;
import io.replica.storage.vhdx.DirectoryStateStore;
import io.replica.storage.vhdx.DirectoryStorageProvider;
import io.replica.transport.netty.NettyTransport;
import io.replica.transport.netty.TlsSettings;
import java.io.IOException;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

/** One host with Replica embedded: mutual TLS, VHDX files, tracking that survives a restart. */
public final class ReplicaHost implements AutoCloseable {
  private final ScheduledExecutorService executor = Executors.newScheduledThreadPool(2);
  private final NettyTransport transport;
  private final ReplicationManager engine;

  /**
   * {@code tls} holds this host's certificate and key ({@code <name>.pem}, {@code <name>.key}) and
   * the CA every host trusts ({@code ca.pem}), e.g. from {@code replica cert}; {@code state} keeps
   * what this host tracks as a primary, and the copy-before-write spill past the memory budget.
   */
  public ReplicaHost(String name, Path tls, Path state) throws IOException {
    transport = NettyTransport.builder().hostName(name)
        .tls(TlsSettings.fromPemFiles(tls.resolve(name + ".pem"), tls.resolve(name + ".key"),
            tls.resolve("ca.pem"))) // reloaded when the files change
        .build();
    engine = ReplicaEngine.builder().hostName(name)
        .scheduler(Scheduler.of(executor)) // the engine's only threads
        .transport(transport)
        .storage(new DirectoryStorageProvider()) // a storage location is a folder of VHDX files
        .primaryState(new DirectoryStateStore(state))
        .build();
  }

  /** Serves as replica server for any primary whose certificate the CA issued. */
  public void acceptReplicas(int port, Path replicas) {
    engine.setReplicaServerSettings(ReplicaServerSettings.builder()
        .allowedAuthenticationTypes(EnumSet.of(AuthenticationType.CERTIFICATE)).certificatePort(port)
        .allowAnyAuthenticatedServer(replicas.toString()).build());
  }

  /** Replicates {@code vm} every 30 seconds; the guest's writes must go through the disk returned. */
  public VirtualDisk replicate(VirtualMachine vm, String replicaServer, int port) {
    engine.enableReplication(vm, ReplicationSettings.builder(replicaServer)
        .authenticationType(AuthenticationType.CERTIFICATE).replicaServerPort(port)
        .replicationFrequency(ReplicationSettings.FREQUENCY_30_SECONDS).build()).join();
    engine.startInitialReplication(vm.id()).join();
    return engine.changeTracker(vm.id()).trackedDisk(vm.disks().get(0).id());
  }

  /** Every other operation: failover, reverse, health, statistics, recovery points. */
  public ReplicationManager engine() {
    return engine;
  }

  @Override
  public void close() {
    engine.close();
    transport.close();
    executor.shutdownNow();
  }
}
