package dev.finetune4j.eval;

/**
 * A TER score.
 *
 * @param score     TER in percent (edits per reference word times 100; can exceed 100)
 * @param numEdits  total edits over the corpus (best reference per segment)
 * @param refLength total of the per-segment average reference lengths
 * @param signature sacreBLEU's signature string
 */
public record TerScore(double score, double numEdits, double refLength, String signature) {
}
