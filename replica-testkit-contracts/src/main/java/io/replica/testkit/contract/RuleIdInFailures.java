package io.replica.testkit.contract;

import java.lang.reflect.Method;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.LifecycleMethodExecutionExceptionHandler;
import org.junit.jupiter.api.extension.TestExecutionExceptionHandler;
import org.opentest4j.AssertionFailedError;
import org.opentest4j.IncompleteExecutionException;

/**
 * Makes every failure of a kit test name the rule it checks, also when the implementation throws
 * something unexpected instead of failing an assertion: {@code D2.5: open threw
 * NoSuchFileException ...} tells an implementer which rule of {@code docs/spi-rules.md}
 * to read, where a bare stack trace would not.
 *
 * <p>The kits register it themselves; it is public only because JUnit instantiates it.
 * Assertion failures (which already name their rule) and skips pass through unchanged.
 */
public final class RuleIdInFailures
    implements TestExecutionExceptionHandler, LifecycleMethodExecutionExceptionHandler {

  private static final Pattern RULE = Pattern.compile("_D(\\d+)_(\\d+)_");

  /** Instantiated by JUnit through {@code ExtendWith} on the kits. */
  public RuleIdInFailures() {}

  /**
   * Rethrows {@code throwable} as an assertion failure that starts with the test's rule id.
   *
   * @throws Throwable always: the original if it is an assertion failure or a skip, else a
   *     wrapper naming the rule
   */
  @Override
  public void handleTestExecutionException(ExtensionContext context, Throwable throwable)
      throws Throwable {
    throw named(context, throwable, "");
  }

  /**
   * Names the rule when closing what the test opened fails.
   *
   * @throws Throwable always, as {@link #handleTestExecutionException}
   */
  @Override
  public void handleAfterEachMethodExecutionException(
      ExtensionContext context, Throwable throwable) throws Throwable {
    throw named(context, throwable, " while closing what the test opened");
  }

  private static Throwable named(ExtensionContext context, Throwable throwable, String when) {
    if (throwable instanceof AssertionError
        || throwable instanceof IncompleteExecutionException) {
      return throwable;
    }
    String rule = context.getTestMethod().map(RuleIdInFailures::ruleOf).orElse(null);
    if (rule == null) {
      return throwable;
    }
    String hint =
        throwable instanceof UnsupportedOperationException
            ? " (if the implementation lacks this capability, declare it through the kit's"
                + " capability method instead)"
            : "";
    return new AssertionFailedError(
        rule + ": the implementation threw " + throwable + when + hint, throwable);
  }

  private static String ruleOf(Method method) {
    Matcher matcher = RULE.matcher(method.getName());
    return matcher.find() ? "D" + matcher.group(1) + "." + matcher.group(2) : null;
  }
}
