package dev.finetune4j.eval;

/** What the promotion gate answers. */
public enum GateVerdict {
    /** Every rule passes: promote the candidate. */
    PROMOTE,
    /** No rule shows a regression beyond its tolerance, but a required gain is missing or a metric is absent. */
    HOLD,
    /** At least one metric regressed beyond its tolerance: keep or go back to the baseline. */
    ROLLBACK
}
