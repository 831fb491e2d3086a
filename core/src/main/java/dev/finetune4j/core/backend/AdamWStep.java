package dev.finetune4j.core.backend;

/**
 * The float32 scalars of one AdamW step of one parameter ({@link OptimizerKernels#adamw}), formed in double and
 * rounded once as torch does with Python floats.
 *
 * @param decay               {@code 1 - lr * weightDecay}
 * @param gradWeight          {@code 1 - beta1}, the weight of the gradient in the first moment's lerp
 * @param beta2               the second moment's decay
 * @param oneMinusBeta2       {@code 1 - beta2}
 * @param eps                 added to the denominator
 * @param negStepSize         {@code -lr / (1 - beta1^t)}
 * @param biasCorrection2Sqrt {@code sqrt(1 - beta2^t)}
 */
public record AdamWStep(float decay, float gradWeight, float beta2, float oneMinusBeta2, float eps,
                        float negStepSize, float biasCorrection2Sqrt) {
}
