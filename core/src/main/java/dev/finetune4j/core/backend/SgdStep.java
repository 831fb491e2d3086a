package dev.finetune4j.core.backend;

/**
 * The float32 scalars of one SGD step of one parameter ({@link OptimizerKernels#sgd}).
 *
 * @param negLr       {@code -lr}
 * @param weightDecay L2 penalty added to the gradient (0 for none)
 * @param momentum    0 for plain SGD
 * @param keep        {@code 1 - dampening}
 * @param nesterov    Nesterov momentum
 * @param first       the parameter's first update (the momentum buffer starts as the gradient)
 */
public record SgdStep(float negLr, float weightDecay, float momentum, float keep, boolean nesterov, boolean first) {
}
