package io.replica.testkit.contract;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import java.lang.reflect.Method;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.support.descriptor.MethodSource;
import org.junit.platform.testkit.engine.EngineExecutionResults;
import org.junit.platform.testkit.engine.EngineTestKit;
import org.junit.platform.testkit.engine.Event;
import org.junit.platform.testkit.engine.Events;

/**
 * Runs one kit subclass on the JUnit Platform and sorts its tests by outcome and rule id, so that a
 * self-test can say "this broken disk fails D1.3 and nothing else".
 */
final class KitRun {

  /** The configuration parameter that enables the {@link SelfTestOnly} kit subclasses. */
  static final String SELF_TEST = "io.replica.testkit.contract.selfTest";

  private static final Pattern RULE = Pattern.compile("^(?:required|optional)_D(\\d+)_(\\d+)_");

  /** Rule id to failure message. */
  final Map<String, String> failed = new TreeMap<>();
  /** Rule id to the reason it was skipped. */
  final Map<String, String> skipped = new TreeMap<>();
  /** Rule ids whose test passed. */
  final Set<String> passed = new java.util.TreeSet<>();

  private KitRun() {}

  static KitRun of(Class<?> kitSubclass) {
    EngineExecutionResults results =
        EngineTestKit.engine("junit-jupiter")
            .selectors(selectClass(kitSubclass))
            .configurationParameter(SELF_TEST, "true")
            .execute();
    assertEquals(
        0, results.containerEvents().failed().count(),
        () -> kitSubclass.getSimpleName() + ": the kit class itself failed: "
            + describe(results.containerEvents().failed()));
    KitRun run = new KitRun();
    results.testEvents().failed().stream()
        .forEach(e -> run.failed.put(ruleOf(e), message(e)));
    results.testEvents().aborted().stream()
        .forEach(e -> run.skipped.put(ruleOf(e), message(e)));
    results.testEvents().succeeded().stream().forEach(e -> run.passed.add(ruleOf(e)));
    int tests = testMethodCount(kitSubclass);
    assertEquals(
        tests, run.failed.size() + run.skipped.size() + run.passed.size(),
        () -> kitSubclass.getSimpleName() + ": every one of the " + tests
            + " kit tests must run and finish once; disabled: "
            + describe(results.testEvents().skipped()));
    return run;
  }

  /**
   * Asserts that exactly {@code rules} failed, each with a message that names its rule, and that
   * only {@code skippedRules} were skipped.
   */
  KitRun assertFailedOnly(Set<String> rules, Set<String> skippedRules) {
    assertEquals(rules, failed.keySet(), () -> "failed rules, with messages: " + failed);
    for (String rule : rules) {
      assertTrue(
          failed.get(rule).contains(rule + ":"),
          () -> "the failure of " + rule + " must name its rule: " + failed.get(rule));
    }
    assertEquals(skippedRules, skipped.keySet(), () -> "skipped rules, with reasons: " + skipped);
    return this;
  }

  static String ruleOf(Event event) {
    String method =
        event.getTestDescriptor().getSource()
            .filter(MethodSource.class::isInstance)
            .map(s -> ((MethodSource) s).getMethodName())
            .orElseThrow(() -> new AssertionError("not a method: " + event));
    Matcher m = RULE.matcher(method);
    if (!m.find()) {
      throw new AssertionError("kit test " + method + " does not carry a rule id");
    }
    return "D" + m.group(1) + "." + m.group(2);
  }

  private static String message(Event event) {
    return event.getPayload(TestExecutionResult.class)
        .flatMap(TestExecutionResult::getThrowable)
        .map(t -> t.getClass().getSimpleName() + ": " + t.getMessage())
        .orElse("(no message)");
  }

  private static String describe(Events events) {
    StringBuilder text = new StringBuilder();
    events.stream().forEach(e -> text.append(e.getTestDescriptor().getDisplayName())
        .append(" -> ").append(message(e)).append("; "));
    return text.toString();
  }

  private static int testMethodCount(Class<?> kitSubclass) {
    int count = 0;
    for (Class<?> c = kitSubclass; c != Object.class; c = c.getSuperclass()) {
      count += (int) Arrays.stream(c.getDeclaredMethods())
          .filter((Method m) -> m.isAnnotationPresent(Test.class))
          .count();
    }
    return count;
  }
}
