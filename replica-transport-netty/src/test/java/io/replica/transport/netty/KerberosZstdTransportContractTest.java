package io.replica.transport.netty;

import io.replica.api.AuthenticationType;
import io.replica.spi.transport.ConnectOptions;
import io.replica.spi.transport.Endpoint;
import io.replica.spi.transport.Transport;
import io.replica.testkit.contract.TransportContract;

/** The T1 rules on {@link NettyTransport} with Kerberos (authentication only) and zstd. */
class KerberosZstdTransportContractTest extends TransportContract<NettyTransport> {
  @Override
  protected NettyTransport createTransport(String hostName) throws Exception {
    return NettyTransport.builder().hostName(hostName).workerThreads(2)
        .kerberos(TestKdc.settings(hostName)).resolver(TestKdc::loopback).build();
  }

  @Override
  protected Endpoint connectEndpoint(Transport.Listener listener) {
    return new Endpoint(REPLICA, listener.endpoint().port());
  }

  @Override
  protected ConnectOptions connectOptions(NettyTransport transport) {
    return new ConnectOptions(AuthenticationType.KERBEROS, true);
  }
}
