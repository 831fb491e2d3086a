package dev.finetune4j.peft.lora;

import dev.finetune4j.core.autograd.LowRank;
import dev.finetune4j.core.tensor.Tensor;

/** Plain LoRA (Hu et al. 2021): y = base(x) + s B A dropout(x). Stateless. */
final class StandardLora implements LoraVariant {
    static final StandardLora INSTANCE = new StandardLora();

    private StandardLora() {
    }

    @Override
    public Tensor forward(LoraLinear layer, Tensor x, Tensor dropped) {
        Tensor dense = layer.base().denseWeightOutIn();
        if (dropped == x && dense != null) {
            // base product and update in one op: one input gradient instead of two to add up
            return LowRank.linear(x, dense, layer.base().bias(), layer.loraA(), layer.loraB(), layer.scaling());
        }
        return LowRank.add(layer.base().forward(x), dropped, layer.loraA(), layer.loraB(), layer.scaling());
    }

    /** W + s B A. */
    @Override
    public Tensor mergedWeight(LoraLinear layer) {
        return LoraLinear.mergedWeight(layer.base().weightTensor(), layer.loraA(), layer.loraB(), layer.scaling(), null);
    }
}
