package dev.finetune4j.core.optim;

/**
 * Hyper-parameters of {@link Sgd}, named as {@code torch.optim.SGD}'s arguments.
 *
 * @param lr          learning rate (before any schedule)
 * @param momentum    momentum factor, >= 0 (0 turns momentum off)
 * @param dampening   dampening of the momentum, >= 0
 * @param nesterov    Nesterov momentum (needs momentum > 0 and dampening 0, as in torch)
 * @param weightDecay L2 penalty added to the gradient, >= 0
 */
public record SgdConfig(double lr, double momentum, double dampening, boolean nesterov, double weightDecay) {
    /**
     * Checks the learning rate and that momentum, dampening and weight decay are finite and not negative, and that
     * Nesterov momentum has momentum and no dampening.
     */
    public SgdConfig {
        Checks.learningRate(lr);
        Checks.nonNegative("SGD momentum", momentum);
        Checks.nonNegative("SGD dampening", dampening);
        Checks.nonNegative("SGD weightDecay", weightDecay);
        if (nesterov && (momentum <= 0 || dampening != 0)) {
            throw new IllegalArgumentException("Nesterov momentum needs momentum > 0 and dampening 0 (as in PyTorch); got momentum="
                    + momentum + ", dampening=" + dampening);
        }
    }

    /**
     * Plain SGD with learning rate {@code lr}: no momentum, no weight decay (torch's defaults).
     *
     * @param lr the learning rate
     * @return the configuration
     */
    public static SgdConfig of(double lr) {
        return new SgdConfig(lr, 0, 0, false, 0);
    }
}
