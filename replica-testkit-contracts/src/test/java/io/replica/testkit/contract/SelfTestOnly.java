package io.replica.testkit.contract;

import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Disables the kit subclasses of the self-tests unless {@link KitRun} runs them: they wrap
 * deliberately broken implementations, so an IDE or build that finds them on its own must not
 * report their expected failures as real ones.
 */
final class SelfTestOnly implements ExecutionCondition {

  @Override
  public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
    return context.getConfigurationParameter(KitRun.SELF_TEST)
        .map(v -> ConditionEvaluationResult.enabled("run by a contract kit self-test"))
        .orElse(
            ConditionEvaluationResult.disabled(
                "checks a deliberately broken implementation; run only through KitRun"));
  }
}
