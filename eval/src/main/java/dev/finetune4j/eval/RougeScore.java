package dev.finetune4j.eval;

/**
 * Precision, recall and F1 of one ROUGE type, as rouge-score's {@code Score} tuple.
 *
 * @param precision matches over prediction units
 * @param recall    matches over target units
 * @param fmeasure  harmonic mean, 0 when both are 0
 */
public record RougeScore(double precision, double recall, double fmeasure) {
    /**
     * The score of a precision and recall, with rouge-score's F1 (0 when both are 0).
     *
     * @param precision the fraction of predicted units found in the target, in [0, 1]
     * @param recall the fraction of target units found in the prediction, in [0, 1]
     * @return the score with F1 {@code 2pr / (p + r)}
     */
    public static RougeScore of(double precision, double recall) {
        double f = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0.0;
        return new RougeScore(precision, recall, f);
    }
}
