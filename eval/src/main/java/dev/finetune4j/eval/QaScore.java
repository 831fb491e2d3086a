package dev.finetune4j.eval;

/**
 * Mean exact match and token F1 over a set of questions, each in [0, 1] (SQuAD prints them times 100).
 *
 * @param exactMatch mean of the per-question best exact match over the gold answers
 * @param f1         mean of the per-question best token F1 over the gold answers
 * @param count      number of questions
 */
public record QaScore(double exactMatch, double f1, int count) {
}
