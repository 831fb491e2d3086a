package dev.finetune4j.eval;

/** How per-class precision, recall and F1 are combined, as scikit-learn's {@code average=} argument. */
public enum Average {
    /** From the summed true positives, predictions and supports of all classes (equals accuracy for single-label data). */
    MICRO,
    /** Unweighted mean of the per-class values. */
    MACRO,
    /** Mean of the per-class values weighted by support (true count). */
    WEIGHTED
}
