package io.replica.spi.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.lists;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.Generate;

class StorageNamesTest {

  @ParameterizedTest
  @ValueSource(strings = {"a", "a/b-1.vhdx", "disk.vhdx", "3f0c8a34-1b2c-4d5e-8f90-a1b2c3d4e5f6/disk_0.avhdx",
      "vms/vm1/state.log", "A9", "0", "a.b.c", "a_b", "a-", "a."})
  void acceptedNames(String name) {
    assertSame(name, StorageNames.check(name));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", ".", "..", "../x", "a/../b", "a/..", "x/./y", "/abs", "/", "a//b", "a/", "a\\b",
      "..\\x", "a b", " a", "a ", "a\tb", "a\nb", ".hidden", "-a", "_a", "a/.b", "a..b", "C:", "c:/x",
      "a*", "a?", "~", "é", "a\0b", "a/b/"})
  void rejectedNames(String name) {
    var e = assertThrows(IllegalArgumentException.class, () -> StorageNames.check(name));
    if (!name.isEmpty()) {
      assertTrue(e.getMessage().contains("'" + name + "'"), "names the name: " + e.getMessage());
    }
  }

  @Test
  void emptyNameMessageStatesTheRule() {
    var e = assertThrows(IllegalArgumentException.class, () -> StorageNames.check(""));
    assertTrue(e.getMessage().contains("1 to 512 characters"), e.getMessage());
  }

  @Test
  void lengthLimit() {
    // segments hold at most 128 characters, so a long name needs several
    String seg = "a".repeat(128);
    String name512 = String.join("/", seg, seg, seg) + "/" + "b".repeat(512 - 3 * 129);
    assertEquals(512, name512.length());
    assertSame(name512, StorageNames.check(name512));

    String name513 = name512 + "c";
    var e = assertThrows(IllegalArgumentException.class, () -> StorageNames.check(name513));
    assertTrue(e.getMessage().contains("513"), e.getMessage());
    assertTrue(e.getMessage().contains("1 to 512"), e.getMessage());
  }

  @Test
  void segmentLengthLimit() {
    String longest = "x".repeat(128);
    assertSame(longest, StorageNames.check(longest));
    assertThrows(IllegalArgumentException.class, () -> StorageNames.check("x".repeat(129)));
    assertThrows(IllegalArgumentException.class, () -> StorageNames.check("a/" + "x".repeat(129)));
  }

  @Test
  void nullRejected() {
    assertThrows(NullPointerException.class, () -> StorageNames.check(null));
  }

  /** Names built from the characters that matter, so that both outcomes are common. */
  private static Gen<String> nameLike() {
    List<Character> alphabet = Arrays.asList('a', 'B', '7', '.', '.', '/', '/', '-', '_', '\\', ' ', ':', '*');
    Gen<Character> c = Generate.pick(alphabet);
    return lists().of(c).ofSizeBetween(0, 24).map(l -> {
      StringBuilder sb = new StringBuilder();
      l.forEach(sb::append);
      return sb.toString();
    });
  }

  @Test
  void acceptedNamesAreSafeRelativePaths() {
    qt().withExamples(5000).forAll(nameLike())
        .checkAssert(name -> {
          String checked;
          try {
            checked = StorageNames.check(name);
          } catch (IllegalArgumentException rejected) {
            return;
          }
          assertSame(name, checked);
          assertFalse(name.startsWith("/"), name);
          assertFalse(name.endsWith("/"), name);
          assertFalse(name.contains("\\"), name);
          assertFalse(name.contains(" "), name);
          for (String segment : name.split("/", -1)) {
            assertFalse(segment.isEmpty(), name);
            assertFalse(segment.equals(".") || segment.equals(".."), name);
            assertFalse(segment.contains(".."), name);
            assertTrue(Character.isLetterOrDigit(segment.charAt(0)), name);
          }
        });
  }

  @Test
  void joiningAcceptedNamesWithSlashGivesAnAcceptedName() {
    Gen<String> segment = lists().of(Generate.pick(Arrays.asList('a', 'z', 'Q', '0', '9', '.', '_', '-')))
        .ofSizeBetween(0, 10)
        .map(l -> {
          StringBuilder sb = new StringBuilder("s");
          l.forEach(sb::append);
          return sb.toString().replace("..", ".x");
        });
    qt().forAll(lists().of(segment).ofSizeBetween(1, 5))
        .checkAssert(segments -> {
          String name = String.join("/", segments);
          assertSame(name, StorageNames.check(name));
        });
  }
}
