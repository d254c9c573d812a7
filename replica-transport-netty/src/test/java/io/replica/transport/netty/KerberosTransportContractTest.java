package io.replica.transport.netty;

import io.replica.spi.transport.Endpoint;
import io.replica.spi.transport.Transport;
import io.replica.testkit.contract.TransportContract;

/**
 * The T1 rules on {@link NettyTransport} with Kerberos (SASL/GSSAPI, confidentiality) against the
 * embedded KDC; host names map to loopback, connections go to the name the principal carries.
 */
class KerberosTransportContractTest extends TransportContract<NettyTransport> {
  @Override
  protected NettyTransport createTransport(String hostName) throws Exception {
    return NettyTransport.builder().hostName(hostName).workerThreads(2)
        .kerberos(TestKdc.settings(hostName).protections(java.util.EnumSet.of(
            KerberosSettings.Protection.CONFIDENTIALITY)))
        .resolver(TestKdc::loopback).build();
  }

  @Override
  protected Endpoint connectEndpoint(Transport.Listener listener) {
    return new Endpoint(REPLICA, listener.endpoint().port());
  }
}
