/** Contract kits: abstract JUnit 5 classes that check an SPI implementation against the rules in docs/spi-rules.md; extend one and implement its factory method. */
@NullMarked
package io.replica.testkit.contract;

import org.jspecify.annotations.NullMarked;
