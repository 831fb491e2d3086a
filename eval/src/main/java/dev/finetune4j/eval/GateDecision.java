package dev.finetune4j.eval;

import java.util.List;

/**
 * The promotion gate's answer with its reasons.
 *
 * @param verdict  PROMOTE, HOLD or ROLLBACK
 * @param reasons  one line per rule that did not pass (every rule when promoting), in rule order
 * @param outcomes every rule's own outcome
 */
public record GateDecision(GateVerdict verdict, List<String> reasons, List<RuleOutcome> outcomes) {
    /** Defensive copies. */
    public GateDecision {
        reasons = List.copyOf(reasons);
        outcomes = List.copyOf(outcomes);
    }

    /**
     * One rule's outcome.
     *
     * @param rule        the rule
     * @param candidate   the candidate's value (NaN when missing)
     * @param baseline    the baseline's value (NaN when missing)
     * @param improvement positive is better, in the rule's units
     * @param verdict     the rule's own verdict
     * @param reason      a sentence with the numbers
     */
    public record RuleOutcome(GateRule rule, double candidate, double baseline, double improvement,
                              GateVerdict verdict, String reason) {
    }
}
