/** JMH benchmarks; never deployed. */
module io.replica.benchmarks {
  requires io.replica.api;
  requires io.replica.core;
  requires io.replica.testkit;
  requires jmh.core;
}
