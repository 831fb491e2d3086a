package dev.finetune4j.eval;

import java.util.List;

/**
 * A BLEU score with the statistics sacreBLEU reports.
 *
 * @param score      BLEU on sacreBLEU's 0-100 scale
 * @param counts     matching n-grams per order (after add-k smoothing, as sacreBLEU reports them)
 * @param totals     hypothesis n-grams per order (after add-k smoothing)
 * @param precisions n-gram precisions per order, in percent
 * @param bp         brevity penalty
 * @param sysLen     hypothesis length in tokens
 * @param refLen     effective reference length in tokens (closest reference length per segment)
 * @param signature  sacreBLEU's signature string, e.g. {@code nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0}
 */
public record BleuScore(double score, List<Double> counts, List<Double> totals, List<Double> precisions,
                        double bp, long sysLen, long refLen, String signature) {
    /** Defensive copies make the score immutable. */
    public BleuScore {
        counts = List.copyOf(counts);
        totals = List.copyOf(totals);
        precisions = List.copyOf(precisions);
    }

    /**
     * The length ratio {@code sysLen / refLen}, as sacreBLEU prints it.
     *
     * @return the hypothesis length over the reference length
     */
    public double ratio() {
        return refLen == 0 ? 0.0 : (double) sysLen / refLen;
    }
}
