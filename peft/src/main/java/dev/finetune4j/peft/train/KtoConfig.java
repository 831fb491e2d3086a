package dev.finetune4j.peft.train;

import java.util.Locale;
import java.util.Optional;

/**
 * Settings of the KTO loss (Ethayarajh et al. 2024), under the names and defaults of TRL's {@code KTOConfig}
 * ({@code loss_type "kto"}).
 *
 * @param beta              strength of the implicit KL penalty towards the reference model ({@code beta}, default 0.1)
 * @param desirableWeight   factor on the loss of each desirable row ({@code desirable_weight}, default 1.0)
 * @param undesirableWeight factor on the loss of each undesirable row ({@code undesirable_weight}, default 1.0)
 */
public record KtoConfig(double beta, double desirableWeight, double undesirableWeight) {

    /** Checks that beta and both weights are finite and {@code > 0}. */
    public KtoConfig {
        if (!(beta > 0) || !Double.isFinite(beta)) {
            throw new IllegalArgumentException("beta must be a finite number > 0, got " + beta + "; 0.1 is the usual start");
        }
        requireWeight("desirableWeight", desirableWeight);
        requireWeight("undesirableWeight", undesirableWeight);
    }

    private static void requireWeight(String name, double value) {
        if (!(value > 0) || !Double.isFinite(value)) {
            throw new IllegalArgumentException(name + " must be a finite number > 0, got " + value + "; 1.0 weighs both "
                    + "kinds of rows alike, and with unequal counts the KTO paper (section 4.2) keeps "
                    + "desirableWeight x desirable rows / (undesirableWeight x undesirable rows) in [1, 4/3]");
        }
    }

    /**
     * TRL's advice on the weights for data with unequal numbers of desirable and undesirable rows (KTO paper, eq. 8:
     * {@code desirableWeight x desirable / (undesirableWeight x undesirable)} in [1, 4/3]): empty when the counts are
     * equal or when either weight is in its recommended range, else a message naming both ranges (to two decimals),
     * of which one weight should be moved into its own.
     *
     * @param desirable   desirable rows of the training data
     * @param undesirable undesirable rows of the training data
     * @return the advice, or empty
     */
    public Optional<String> weightAdvice(int desirable, int undesirable) {
        double d = Math.max(desirable, 1);
        double u = Math.max(undesirable, 1);
        if (d == u) {
            return Optional.empty();
        }
        double desirableLow = twoDecimals(u * undesirableWeight / d);
        double desirableHigh = twoDecimals(u * undesirableWeight / d * 1.33);
        double undesirableLow = twoDecimals(d * desirableWeight / u / 1.33);
        double undesirableHigh = twoDecimals(d * desirableWeight / u);
        if ((desirableLow <= desirableWeight && desirableWeight <= desirableHigh)
                || (undesirableLow <= undesirableWeight && undesirableWeight <= undesirableHigh)) {
            return Optional.empty();
        }
        return Optional.of(String.format(Locale.ROOT, "the data has %d desirable and %d undesirable rows, and the weights "
                        + "(desirableWeight %s, undesirableWeight %s) are outside the KTO paper's range: set EITHER "
                        + "desirableWeight in [%s, %s] OR undesirableWeight in [%s, %s], not both", desirable, undesirable,
                desirableWeight, undesirableWeight, desirableLow, desirableHigh, undesirableLow, undesirableHigh));
    }

    private static double twoDecimals(double x) {
        return Math.round(x * 100) / 100.0;
    }

    /**
     * TRL's defaults: beta 0.1, both weights 1.0.
     *
     * @return the configuration
     */
    public static KtoConfig defaults() {
        return new KtoConfig(0.1, 1.0, 1.0);
    }

    /**
     * This configuration with another beta.
     *
     * @param value the KL strength, finite and {@code > 0}
     * @return a new configuration
     */
    public KtoConfig withBeta(double value) {
        return new KtoConfig(value, desirableWeight, undesirableWeight);
    }

    /**
     * This configuration with other weights.
     *
     * @param desirable   factor on each desirable row's loss, finite and {@code > 0}
     * @param undesirable factor on each undesirable row's loss, finite and {@code > 0}
     * @return a new configuration
     */
    public KtoConfig withWeights(double desirable, double undesirable) {
        return new KtoConfig(beta, desirable, undesirable);
    }
}
