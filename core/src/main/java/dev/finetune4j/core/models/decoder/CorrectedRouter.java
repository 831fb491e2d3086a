package dev.finetune4j.core.models.decoder;

import dev.finetune4j.core.nn.Linear;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

/**
 * GLM-4.5's and DeepSeek-V3's router ({@code mlp.gate}): a bias-free linear layer scoring the experts, which also holds
 * the checkpoint's {@code e_score_correction_bias} (E), added to the scores to pick experts and never to weigh them
 * ({@link MoeConfig.SelectionBias#ROUTER}).
 */
final class CorrectedRouter extends Linear {
    /** The selection bias's name in the router, as the checkpoints store it. */
    static final String CORRECTION = "e_score_correction_bias";

    CorrectedRouter(TensorScope scope, int hidden, int experts) {
        super(scope, hidden, experts, false);
        registerParameter(CORRECTION, Tensor.zeros(scope, DType.F32, Shape.of(experts)));
    }
}
