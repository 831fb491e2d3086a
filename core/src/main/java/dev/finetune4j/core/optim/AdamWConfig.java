package dev.finetune4j.core.optim;

/**
 * Hyper-parameters of {@link AdamW}, named as {@code torch.optim.AdamW}'s arguments.
 *
 * @param lr          learning rate (before any schedule)
 * @param beta1       decay of the first moment, in [0, 1)
 * @param beta2       decay of the second moment, in [0, 1)
 * @param eps         added to the denominator, > 0 also in float32 (at least {@link Float#MIN_VALUE})
 * @param weightDecay decoupled weight decay, >= 0
 */
public record AdamWConfig(double lr, double beta1, double beta2, double eps, double weightDecay) {
    /**
     * Checks the learning rate, that the betas lie in [0, 1), eps is positive (also in float32, where the update adds
     * it) and the weight decay is not negative, each finite.
     */
    public AdamWConfig {
        Checks.learningRate(lr);
        Checks.fraction("AdamW beta1", beta1, "torch's default is 0.9");
        Checks.fraction("AdamW beta2", beta2, "torch's default is 0.999");
        Checks.positive("AdamW eps", eps);
        Checks.nonNegative("AdamW weightDecay", weightDecay);
    }

    /**
     * torch's defaults with learning rate {@code lr}: betas (0.9, 0.999), eps 1e-8, weight decay 0.01.
     *
     * @param lr the learning rate
     * @return the configuration
     */
    public static AdamWConfig of(double lr) {
        return new AdamWConfig(lr, 0.9, 0.999, 1e-8, 0.01);
    }

    /**
     * This config with another weight decay.
     *
     * @param wd the decoupled weight decay, {@code >= 0}
     * @return a new configuration
     */
    public AdamWConfig withWeightDecay(double wd) {
        return new AdamWConfig(lr, beta1, beta2, eps, wd);
    }
}
