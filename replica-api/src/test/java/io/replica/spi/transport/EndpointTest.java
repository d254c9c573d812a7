package io.replica.spi.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class EndpointTest {

  @ParameterizedTest
  @ValueSource(ints = {0, 1, 80, 443, 65535})
  void portsInRangeAccepted(int port) {
    assertEquals(port, new Endpoint("hv2.contoso.com", port).port());
  }

  @ParameterizedTest
  @ValueSource(ints = {-1, 65536, Integer.MIN_VALUE, Integer.MAX_VALUE})
  void portsOutOfRangeRejected(int port) {
    var e = assertThrows(IllegalArgumentException.class, () -> new Endpoint("hv2.contoso.com", port));
    assertTrue(e.getMessage().contains("port " + port), e.getMessage());
    assertTrue(e.getMessage().contains("'hv2.contoso.com'"), e.getMessage());
    assertTrue(e.getMessage().contains("0-65535"), e.getMessage());
  }

  @ParameterizedTest
  @ValueSource(strings = {"", " ", "\t"})
  void blankHostRejected(String host) {
    var e = assertThrows(IllegalArgumentException.class, () -> new Endpoint(host, 80));
    assertTrue(e.getMessage().contains("host is blank"), e.getMessage());
  }

  @Test
  void nullHostRejected() {
    assertThrows(NullPointerException.class, () -> new Endpoint(null, 80));
  }

  @Test
  void hostIsLowerCased() {
    Endpoint e = new Endpoint("HV2.Contoso.COM", 443);
    assertEquals("hv2.contoso.com", e.host());
    assertEquals(new Endpoint("hv2.contoso.com", 443), e);
    assertEquals(new Endpoint("hv2.contoso.com", 443).hashCode(), e.hashCode());
  }

  @Test
  void lowerCasingIgnoresTheDefaultLocale() {
    Locale before = Locale.getDefault();
    try {
      Locale.setDefault(Locale.forLanguageTag("tr-TR"));
      assertEquals("hi.contoso.com", new Endpoint("HI.CONTOSO.COM", 80).host());
    } finally {
      Locale.setDefault(before);
    }
  }

  @Test
  void toStringOfNamesAndIpv4() {
    assertEquals("hv2.contoso.com:80", new Endpoint("HV2.contoso.com", 80).toString());
    assertEquals("10.0.0.1:443", new Endpoint("10.0.0.1", 443).toString());
  }

  @Test
  void toStringBracketsIpv6() {
    assertEquals("[::1]:8080", new Endpoint("::1", 8080).toString());
    assertEquals("[fe80::1]:0", new Endpoint("FE80::1", 0).toString());
    assertEquals("[2001:db8::a:b]:443", new Endpoint("2001:DB8::A:B", 443).toString());
  }
}
