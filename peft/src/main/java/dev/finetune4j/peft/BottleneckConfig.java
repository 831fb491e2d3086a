package dev.finetune4j.peft;

import dev.finetune4j.core.autograd.Activations;

/**
 * Bottleneck adapters: x + up(act(down(x))) after a sublayer, with down: C -> C / reductionFactor. PEFT has no
 * such method; this one saves in PEFT's folder layout with {@code "peft_type": "BOTTLENECK_ADAPTER"} and tensors
 * named {@code base_model.model.<sublayer path>.adapter_down.weight} (and {@code .bias}, {@code adapter_up.*}).
 *
 * @param placement       where adapters go
 * @param reductionFactor hidden size / bottleneck size
 * @param nonLinearity    the bottleneck's activation (relu, gelu, silu, tanh)
 * @param taskType        PEFT-style {@code task_type}
 */
public record BottleneckConfig(Placement placement, int reductionFactor, Activations.Kind nonLinearity, String taskType)
        implements PeftConfig {

    /** Where the adapters sit in each transformer layer. */
    public enum Placement {
        /** Houlsby et al. 2019: after the attention block and after the MLP. */
        HOULSBY,
        /** Pfeiffer et al. 2020: after the MLP only. */
        PFEIFFER
    }

    /** Checks the placement and reduction factor; a null activation becomes ReLU. */
    public BottleneckConfig {
        if (placement == null) {
            throw new IllegalArgumentException("placement is null: choose HOULSBY (after attention and MLP) or PFEIFFER (after MLP)");
        }
        if (reductionFactor <= 0) {
            throw new IllegalArgumentException("reduction_factor = " + reductionFactor + ": must be positive (typical: 16)");
        }
        nonLinearity = nonLinearity == null ? Activations.Kind.RELU : nonLinearity;
    }

    @Override
    public String peftType() {
        return "BOTTLENECK_ADAPTER";
    }
}
