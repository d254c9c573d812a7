package io.replica.transport.netty;

import io.replica.testkit.contract.TransportContract;

/** The T1 rules on {@link NettyTransport} without TLS, over loopback. */
class NettyPlainTransportContractTest extends TransportContract<NettyTransport> {
  @Override
  protected NettyTransport createTransport(String hostName) {
    return ContractTransports.plain(hostName);
  }
}
