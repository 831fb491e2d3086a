package dev.finetune4j.eval;

/**
 * A chrF or chrF++ score.
 *
 * @param score     chrF on sacreBLEU's 0-100 scale
 * @param name      sacreBLEU's name: {@code chrF2} for chrF, {@code chrF2++} for word order 2
 * @param charOrder character n-gram order
 * @param wordOrder word n-gram order (0 for chrF, 2 for chrF++)
 * @param beta      recall weight
 * @param signature sacreBLEU's signature string
 */
public record ChrfScore(double score, String name, int charOrder, int wordOrder, int beta, String signature) {
}
