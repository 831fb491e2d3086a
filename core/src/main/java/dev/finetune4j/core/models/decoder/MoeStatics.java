package dev.finetune4j.core.models.decoder;

import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

/**
 * ERNIE-4.5-MoE's {@code mlp.moe_statics}: a module of one (1, E) {@code e_score_correction_bias}, added to the routing
 * probabilities to pick experts and never to weigh them ({@link MoeConfig.SelectionBias#STATICS}).
 */
final class MoeStatics extends Module {
    /** The module's name in the sparse block. */
    static final String NAME = "moe_statics";

    MoeStatics(TensorScope scope, int experts) {
        registerParameter(CorrectedRouter.CORRECTION, Tensor.zeros(scope, DType.F32, Shape.of(1, experts)));
    }
}
