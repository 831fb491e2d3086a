package dev.finetune4j.peft.mix;

import dev.finetune4j.core.models.ConfigLimits;

/**
 * The settings of {@link AdapterMix#combine}, named as PEFT's {@code add_weighted_adapter} arguments. Which apply
 * depends on the {@link CombinationType}; {@link AdapterMix} refuses one given to a type that would ignore it.
 *
 * <pre>{@code
 * MixOptions opts = MixOptions.builder().density(0.5).majoritySign(MajoritySign.FREQUENCY).build();
 * }</pre>
 *
 * @param svdRank      the rank of an SVD type's result, or null for the largest rank among the adapters
 * @param svdClamp     an SVD type's clamp: the quantile q in (0, 1] of the entries of U S and V^T; every entry is
 *                     clamped into [-x, x] with x that quantile; null for none
 * @param density      the fraction of entries kept by TIES, DARE and magnitude pruning, in (0, 1]; null otherwise
 * @param majoritySign how TIES types elect signs
 * @param seed         the seed of DARE's random drops (the same seed and adapters give the same result)
 */
public record MixOptions(Integer svdRank, Double svdClamp, Double density, MajoritySign majoritySign, long seed) {
    /** Checks the ranges; the default sign method is {@link MajoritySign#TOTAL}. */
    public MixOptions {
        if (svdRank != null && (svdRank < 1 || svdRank > ConfigLimits.HIDDEN)) {
            throw new IllegalArgumentException("svd_rank = " + svdRank + ": must be in [1, " + ConfigLimits.HIDDEN
                    + "] (typical: the adapters' r); leave it out for the largest rank among the adapters");
        }
        if (svdClamp != null && !(svdClamp > 0 && svdClamp <= 1)) {
            throw new IllegalArgumentException("svd_clamp = " + svdClamp + ": must be a quantile in (0, 1] (typical: "
                    + "0.99); leave it out for no clamping");
        }
        if (density != null && !(density > 0 && density <= 1)) {
            throw new IllegalArgumentException("density = " + density + ": must be the fraction of entries kept, in "
                    + "(0, 1] (typical: 0.5; 1 keeps every entry)");
        }
        majoritySign = majoritySign == null ? MajoritySign.TOTAL : majoritySign;
    }

    /**
     * A builder with nothing set: SVD rank from the adapters, no clamp, no density, total sign election, seed 0.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The options for the types that need none ({@code linear}, {@code cat}, {@code svd} at the largest rank).
     *
     * @return options with nothing set
     */
    public static MixOptions defaults() {
        return builder().build();
    }

    /** Builder of {@link MixOptions}; not thread-safe. */
    public static final class Builder {
        private Integer svdRank;
        private Double svdClamp;
        private Double density;
        private MajoritySign majoritySign = MajoritySign.TOTAL;
        private long seed;

        private Builder() {
        }

        /**
         * The rank of an SVD type's result.
         *
         * @param value at least 1
         * @return this builder
         */
        public Builder svdRank(int value) { svdRank = value; return this; }

        /**
         * The quantile at which an SVD type's factors are clamped.
         *
         * @param value in (0, 1]
         * @return this builder
         */
        public Builder svdClamp(double value) { svdClamp = value; return this; }

        /**
         * The fraction of entries TIES, DARE and magnitude pruning keep.
         *
         * @param value in (0, 1]
         * @return this builder
         */
        public Builder density(double value) { density = value; return this; }

        /**
         * How TIES types elect signs (default {@link MajoritySign#TOTAL}).
         *
         * @param value the method
         * @return this builder
         */
        public Builder majoritySign(MajoritySign value) { majoritySign = value; return this; }

        /**
         * The seed of DARE's random drops (default 0).
         *
         * @param value any seed
         * @return this builder
         */
        public Builder seed(long value) { seed = value; return this; }

        /**
         * Builds the options; the ranges are checked here.
         *
         * @return the options
         */
        public MixOptions build() {
            return new MixOptions(svdRank, svdClamp, density, majoritySign, seed);
        }
    }
}
