package dev.finetune4j.core.models.gpt2;

import dev.finetune4j.core.autograd.Activations;
import dev.finetune4j.core.nn.Layer;
import dev.finetune4j.core.nn.Linear;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

/** GPT-2 MLP: c_proj(act(c_fc(x))), both Conv1D. */
public final class Gpt2Mlp extends Module implements Layer {
    private final Activations.Kind act;

    /**
     * The MLP's projections, zero until loaded.
     *
     * @param scope owns the weights
     * @param c the configuration
     */
    public Gpt2Mlp(TensorScope scope, Gpt2Config c) {
        this.act = c.activationFunction();
        registerChild("c_fc", new Linear(scope, c.nEmbd(), c.nInner(), true, true));
        registerChild("c_proj", new Linear(scope, c.nInner(), c.nEmbd(), true, true));
    }

    @Override
    public Tensor forward(Tensor x) {
        return layer("c_proj").forward(Activations.apply(act, layer("c_fc").forward(x)));
    }
}
