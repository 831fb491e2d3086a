package dev.finetune4j.peft.train;

/**
 * Settings of the preference loss.
 *
 * @param beta           strength of the implicit KL penalty towards the reference model (TRL default 0.1)
 * @param lossType       sigmoid (DPO) or IPO
 * @param labelSmoothing assumed probability that a preference label is flipped (cDPO); sigmoid loss only
 */
public record DpoConfig(double beta, DpoLossType lossType, double labelSmoothing) {

    /**
     * Checks that beta is positive and finite, the loss type is set, and label smoothing lies in [0, 0.5) and is 0 for
     * IPO.
     */
    public DpoConfig {
        if (!(beta > 0) || !Double.isFinite(beta)) {
            throw new IllegalArgumentException("beta must be a finite number > 0, got " + beta + "; 0.1 is the usual start");
        }
        if (lossType == null) {
            throw new IllegalArgumentException("lossType must be SIGMOID or IPO");
        }
        if (!(labelSmoothing >= 0 && labelSmoothing < 0.5)) {
            throw new IllegalArgumentException("labelSmoothing must be in [0, 0.5), got " + labelSmoothing);
        }
        if (lossType == DpoLossType.IPO && labelSmoothing != 0) {
            throw new IllegalArgumentException("labelSmoothing applies to the SIGMOID loss only; set it to 0 for IPO");
        }
    }

    /**
     * Sigmoid DPO loss with this beta and no label smoothing.
     *
     * @param beta the KL strength, finite and {@code > 0}
     * @return the configuration
     */
    public static DpoConfig sigmoid(double beta) {
        return new DpoConfig(beta, DpoLossType.SIGMOID, 0);
    }

    /**
     * IPO loss with this beta.
     *
     * @param beta the KL strength, finite and {@code > 0}
     * @return the configuration
     */
    public static DpoConfig ipo(double beta) {
        return new DpoConfig(beta, DpoLossType.IPO, 0);
    }

    /**
     * This configuration with label smoothing (sigmoid loss only).
     *
     * @param value the flip probability, in [0, 0.5)
     * @return a new configuration
     */
    public DpoConfig withLabelSmoothing(double value) {
        return new DpoConfig(beta, lossType, value);
    }
}
