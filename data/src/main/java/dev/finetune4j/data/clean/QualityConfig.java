package dev.finetune4j.data.clean;

import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Thresholds of {@link QualityFilter}; a record failing any of them is dropped with the failing rule as reason.
 * Tokens are words for space-separated scripts and single characters for CJK.
 *
 * @param minChars           fewest characters (code points)
 * @param maxChars           most characters
 * @param minTokens          fewest tokens
 * @param maxTokens          most tokens
 * @param maxRepetitionRatio largest share of token 3-grams that repeat an earlier 3-gram (0 none, near 1 all)
 * @param maxSymbolRatio     largest share of non-space characters that are neither letters nor digits
 * @param minCjkShare        smallest share of letters that are CJK (0 to disable)
 * @param minLatinShare      smallest share of letters that are Latin (0 to disable)
 */
public record QualityConfig(int minChars, int maxChars, int minTokens, int maxTokens, double maxRepetitionRatio,
                            double maxSymbolRatio, double minCjkShare, double minLatinShare) implements Serializable {
    /** Checks {@code 0 <= min <= max} for characters and tokens and that every ratio lies in [0, 1]. */
    public QualityConfig {
        if (minChars < 0 || maxChars < minChars) {
            throw new IllegalArgumentException("need 0 <= minChars <= maxChars, found " + minChars + ", " + maxChars);
        }
        if (minTokens < 0 || maxTokens < minTokens) {
            throw new IllegalArgumentException("need 0 <= minTokens <= maxTokens, found " + minTokens + ", "
                    + maxTokens);
        }
        for (double r : new double[] {maxRepetitionRatio, maxSymbolRatio, minCjkShare, minLatinShare}) {
            if (r < 0 || r > 1) {
                throw new IllegalArgumentException("ratios must lie in [0, 1], found " + r);
            }
        }
    }

    /**
     * Lenient defaults: 5 to 100,000 characters, at most 30% repeated 3-grams and 30% symbols.
     *
     * @return the default thresholds
     */
    public static QualityConfig defaults() {
        return new QualityConfig(5, 100_000, 1, Integer.MAX_VALUE, 0.3, 0.3, 0, 0);
    }

    /**
     * This configuration with other character bounds.
     *
     * @param min fewest characters, {@code >= 0}
     * @param max most characters, {@code >= min}
     * @return a new configuration
     */
    public QualityConfig withChars(int min, int max) {
        return new QualityConfig(min, max, minTokens, maxTokens, maxRepetitionRatio, maxSymbolRatio, minCjkShare,
                minLatinShare);
    }

    /**
     * This configuration with other token bounds.
     *
     * @param min fewest tokens, {@code >= 0}
     * @param max most tokens, {@code >= min}
     * @return a new configuration
     */
    public QualityConfig withTokens(int min, int max) {
        return new QualityConfig(minChars, maxChars, min, max, maxRepetitionRatio, maxSymbolRatio, minCjkShare,
                minLatinShare);
    }

    /**
     * This configuration with another largest share of repeated 3-grams.
     *
     * @param ratio the share in [0, 1]
     * @return a new configuration
     */
    public QualityConfig withMaxRepetition(double ratio) {
        return new QualityConfig(minChars, maxChars, minTokens, maxTokens, ratio, maxSymbolRatio, minCjkShare,
                minLatinShare);
    }

    /**
     * This configuration with another largest share of symbols.
     *
     * @param ratio the share in [0, 1]
     * @return a new configuration
     */
    public QualityConfig withMaxSymbols(double ratio) {
        return new QualityConfig(minChars, maxChars, minTokens, maxTokens, maxRepetitionRatio, ratio, minCjkShare,
                minLatinShare);
    }

    /**
     * This configuration with another smallest share of CJK letters (0 turns the rule off).
     *
     * @param share the share in [0, 1]
     * @return a new configuration
     */
    public QualityConfig withMinCjkShare(double share) {
        return new QualityConfig(minChars, maxChars, minTokens, maxTokens, maxRepetitionRatio, maxSymbolRatio, share,
                minLatinShare);
    }

    /**
     * This configuration with another smallest share of Latin letters (0 turns the rule off).
     *
     * @param share the share in [0, 1]
     * @return a new configuration
     */
    public QualityConfig withMinLatinShare(double share) {
        return new QualityConfig(minChars, maxChars, minTokens, maxTokens, maxRepetitionRatio, maxSymbolRatio,
                minCjkShare, share);
    }

    Map<String, Object> params() {
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("minChars", minChars);
        p.put("maxChars", maxChars);
        p.put("minTokens", minTokens);
        p.put("maxTokens", maxTokens);
        p.put("maxRepetitionRatio", maxRepetitionRatio);
        p.put("maxSymbolRatio", maxSymbolRatio);
        p.put("minCjkShare", minCjkShare);
        p.put("minLatinShare", minLatinShare);
        return p;
    }
}
