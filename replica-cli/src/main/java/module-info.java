/** The {@code replica} command. */
module io.replica.cli {
  requires io.replica.api;
  requires io.replica.core;
  requires io.replica.host;
  requires io.replica.testkit;
  requires io.replica.testkit.sim;
  requires io.replica.storage.vhdx;
  requires io.replica.transport.netty;
  requires info.picocli;
  requires com.fasterxml.jackson.databind;
  requires static org.jspecify;

  exports io.replica.cli;
  opens io.replica.cli to info.picocli;
}
