package dev.finetune4j.core.nn;

import dev.finetune4j.core.tensor.Tensor;

/**
 * A layer that stands in for a bias-free linear one (an adapter around it, as LoRA and DoRA are) and whose output,
 * as it is now, is {@code x W^T} for one (out, in) weight it can hand out: what a model that folds the weight into
 * other products (multi-head latent attention absorbing {@code kv_b_proj}) reads instead of running the layer.
 */
public interface EffectiveWeight {

    /**
     * The weight this layer's output amounts to, adapters folded in, as its current parameters give it: a float32 or
     * bf16 (out, in) tensor in the current scope (or the base weight itself, never to be written), without autograd;
     * null when no single weight gives the output now (dropout in training), and the layer must run instead.
     *
     * @return the (out, in) weight, or null
     */
    Tensor effectiveWeight();
}
