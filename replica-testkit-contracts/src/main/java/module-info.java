/**
 * The SPI contract kits: abstract JUnit 5 classes that check an implementation of a storage or
 * transport SPI against the numbered rules of docs/spi-rules.md.
 */
module io.replica.testkit.contract {
  requires transitive io.replica.api;
  requires static org.jspecify;
  requires transitive org.junit.jupiter.api;

  exports io.replica.testkit.contract;
}
