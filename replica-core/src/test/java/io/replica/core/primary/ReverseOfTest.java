package io.replica.core.primary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** A reversal's wire form is the long the protocol has always carried; nothing else is accepted. */
class ReverseOfTest {

  @Test
  void eachReversalHasItsWireFormAndBack() {
    assertEquals(-1, ReverseOf.toWire(null));
    assertEquals(-2, ReverseOf.toWire(new ReverseOf.Unplanned()));
    assertEquals(0, ReverseOf.toWire(new ReverseOf.Planned(0)));
    assertEquals(41, ReverseOf.toWire(new ReverseOf.Planned(41)));
    assertNull(ReverseOf.fromWire(-1));
    assertTrue(ReverseOf.fromWire(-2) instanceof ReverseOf.Unplanned);
    assertEquals(new ReverseOf.Planned(41), ReverseOf.fromWire(41));
  }

  @Test
  void aValueNoSenderWritesIsRefusedWithWhatIsAllowed() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ReverseOf.fromWire(-3));
    assertTrue(e.getMessage().contains("-3") && e.getMessage().contains("allowed"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> new ReverseOf.Planned(-1));
  }
}
