package io.replica.transport.netty;

import io.replica.spi.transport.ConnectOptions;
import io.replica.testkit.contract.TransportContract;

/** The T1 rules on {@link NettyTransport} without TLS, with zstd compression. */
class NettyPlainZstdTransportContractTest extends TransportContract<NettyTransport> {
  @Override
  protected NettyTransport createTransport(String hostName) {
    return ContractTransports.plain(hostName);
  }

  @Override
  protected ConnectOptions connectOptions(NettyTransport transport) {
    return ContractTransports.compressed();
  }
}
