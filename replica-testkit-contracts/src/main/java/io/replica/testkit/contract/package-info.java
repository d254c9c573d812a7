/**
 * Contract kits: abstract JUnit 5 classes that check an implementation of the storage SPI against
 * the numbered rules of {@code docs/spi-rules.md}, so that the engine can rely on every disk format
 * and state store behaving alike.
 *
 * <ul>
 *   <li>{@link io.replica.testkit.contract.VirtualDiskContract}: rules D1.x for a {@code
 *       VirtualDisk}; implement {@code createDisk(DiskSpec)}.
 *   <li>{@link io.replica.testkit.contract.DiskStoreContract}: rules D2.x for a {@code DiskStore},
 *       differencing disks included unless the store declares it has none; implement {@code
 *       createStore()}.
 *   <li>{@link io.replica.testkit.contract.StateStoreContract}: rules D3.x for a {@code
 *       StateStore} and its logs; implement {@code createStore()}.
 * </ul>
 *
 * <p>Extend a kit from your own test tree. Each test method is final and named after its rule
 * ({@code required_D1_3_...}, or {@code optional_...} where it needs a capability or hook), and
 * every failure message starts with the rule id.
 */
@NullMarked
package io.replica.testkit.contract;

import org.jspecify.annotations.NullMarked;
