package io.replica.transport.netty;

import io.replica.spi.transport.Endpoint;
import io.replica.spi.transport.Transport;
import io.replica.testkit.contract.TransportContract;

/** The T1 rules on {@link NettyTransport} with mutual TLS, over loopback. */
class NettyTlsTransportContractTest extends TransportContract<NettyTransport> {
  @Override
  protected NettyTransport createTransport(String hostName) {
    return ContractTransports.tls(hostName);
  }

  @Override
  protected Endpoint connectEndpoint(Transport.Listener listener) {
    // The test certificates name the host and "localhost", never an address.
    return new Endpoint("localhost", listener.endpoint().port());
  }
}
