package io.replica.testkit.contract;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Keeps the kits and {@code docs/spi-rules.md} in step: every kit test is public and final (so an
 * implementation cannot override a rule away), carries a rule id, and is the one test the rules
 * document names for that rule.
 */
class KitConventionsTest {

  private static final List<Class<?>> KITS =
      List.of(VirtualDiskContract.class, DiskStoreContract.class, StateStoreContract.class);
  private static final Pattern NAME =
      Pattern.compile("(required|optional)_(D\\d+)_(\\d+)_[a-z][A-Za-z0-9]*");

  @Test
  void kitTestsArePublicFinalAndNamedAfterOneRuleEach() {
    Set<String> rules = new TreeSet<>();
    for (Class<?> kit : KITS) {
      for (String test : testMethods(kit)) {
        Matcher matcher = NAME.matcher(test);
        assertTrue(matcher.matches(), kit.getSimpleName() + "." + test + " must carry a rule id");
        String rule = matcher.group(2) + "." + matcher.group(3);
        assertTrue(rules.add(rule), rule + " is checked by more than one kit test");
      }
    }
  }

  @Test
  void rulesDocumentNamesExactlyTheKitTests() throws IOException {
    Path rules = Path.of("..", "docs", "spi-rules.md");
    assertTrue(
        Files.isRegularFile(rules),
        "run from the replica-testkit directory, next to ../docs/spi-rules.md: " + rules);
    String text = Files.readString(rules);
    Set<String> documented = new TreeSet<>();
    Matcher matcher = Pattern.compile("Kit: `(" + NAME.pattern() + ")`").matcher(text);
    while (matcher.find()) {
      documented.add(matcher.group(1));
    }
    Set<String> tests = new TreeSet<>();
    KITS.forEach(kit -> tests.addAll(testMethods(kit)));
    assertEquals(tests, documented, "docs/spi-rules.md must name every kit test, and no other");
    for (String test : tests) {
      Matcher name = NAME.matcher(test);
      assertTrue(name.matches(), test);
      String rule = name.group(2) + "." + name.group(3);
      assertTrue(
          text.contains("**" + rule + " (MUST"),
          "docs/spi-rules.md must state rule " + rule + " that " + test + " checks");
    }
  }

  private static List<String> testMethods(Class<?> kit) {
    List<String> names = new ArrayList<>();
    for (Method method : kit.getDeclaredMethods()) {
      if (method.isAnnotationPresent(Test.class)) {
        int modifiers = method.getModifiers();
        assertTrue(
            Modifier.isPublic(modifiers) && Modifier.isFinal(modifiers),
            kit.getSimpleName() + "." + method.getName() + " must be public final");
        names.add(method.getName());
      }
    }
    return names;
  }
}
