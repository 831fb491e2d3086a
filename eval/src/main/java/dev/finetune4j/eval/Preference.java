package dev.finetune4j.eval;

/** One pairwise judgment between a candidate (A) and a baseline (B). */
public enum Preference {
    /** The candidate's answer is preferred. */
    A,
    /** The baseline's answer is preferred. */
    B,
    /** Neither is preferred. */
    TIE
}
