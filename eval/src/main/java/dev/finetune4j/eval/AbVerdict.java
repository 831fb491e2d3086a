package dev.finetune4j.eval;

/** The outcome of an A/B preference test, by the usual thresholds. */
public enum AbVerdict {
    /** Significant and the candidate's preference is above the marked-improvement threshold (default 80%). */
    MARKED_IMPROVEMENT,
    /** Significant and the preference is above the success threshold (default 70%). */
    SUCCESS,
    /** Significant preference for the candidate, but not above the success threshold. */
    BELOW_TARGET,
    /** Not significant at the chosen level: more judgments are needed or there is no difference. */
    INCONCLUSIVE,
    /** Significant preference for the baseline. */
    BASELINE_PREFERRED
}
