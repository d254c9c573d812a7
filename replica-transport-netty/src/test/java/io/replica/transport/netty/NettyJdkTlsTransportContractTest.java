package io.replica.transport.netty;

import io.replica.spi.transport.Endpoint;
import io.replica.spi.transport.Transport;
import io.replica.testkit.contract.TransportContract;

/**
 * The T1 rules on {@link NettyTransport} with mutual TLS on the JDK's implementation, which
 * embedders without netty-tcnative get.
 */
class NettyJdkTlsTransportContractTest extends TransportContract<NettyTransport> {
  @Override
  protected NettyTransport createTransport(String hostName) {
    return ContractTransports.tlsOnJdk(hostName);
  }

  @Override
  protected Endpoint connectEndpoint(Transport.Listener listener) {
    // The test certificates name the host and "localhost", never an address.
    return new Endpoint("localhost", listener.endpoint().port());
  }
}
