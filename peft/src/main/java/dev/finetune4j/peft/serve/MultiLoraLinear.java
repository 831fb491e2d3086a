package dev.finetune4j.peft.serve;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.Elementwise;
import dev.finetune4j.core.autograd.LowRank;
import dev.finetune4j.core.autograd.Matmul;
import dev.finetune4j.core.nn.EffectiveWeight;
import dev.finetune4j.core.nn.Layer;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.peft.BaseLinear;
import dev.finetune4j.peft.lora.LoraLinear;

/**
 * A frozen linear layer shared by the rows of a batch that use different LoRA adapters (Punica, S-LoRA): the base
 * product runs once for the whole batch, then each run of consecutive rows with the same adapter gets that
 * adapter's update ({@code s (x A^T) B^T}, or DoRA's); rows of the base model, or of an adapter that leaves this
 * module alone, keep the base product. Each row's result depends only on that row's input and adapter. Inside an
 * expert of a mixture the input is the tokens gathered for that expert, (N, in), each with its row's adapter
 * ({@link AdapterRows#update}). A batch whose rows all use one adapter here (or none) has one {@link #effectiveWeight}
 * that latent attention may absorb.
 *
 * <p>x: (B, T, in) -> (B, T, out), or (N, in) -> (N, out) inside an expert. Thread safety: see {@link AdapterRows};
 * forward only, no gradients.
 */
final class MultiLoraLinear extends Module implements Layer, EffectiveWeight {
    private final String path;
    private final AdapterRows rows;
    private final Tensor bias;

    /**
     * @param baseLayer the frozen layer (a Linear or GPT-2's Conv1D)
     * @param path      its dotted path in the model, the key of the adapters' factors
     * @param rows      the adapters of the rows being computed
     */
    MultiLoraLinear(Module baseLayer, String path, AdapterRows rows) {
        this.path = path;
        this.rows = rows;
        this.bias = BaseLinear.of(baseLayer, path).bias();
        registerChild("base_layer", baseLayer);
    }

    @Override
    public Tensor forward(Tensor x) {
        return rows.update(layer("base_layer").forward(x), x, path, this::update);
    }

    /**
     * The weight of every row when all rows of the batch use one adapter's factors here, or none: the base weight
     * with that update folded in, {@code W + s B A} (DoRA's rows rescaled by its scale); null when rows differ (each
     * needs its own weight) or the base has a bias, and the layer must run.
     */
    @Override
    public Tensor effectiveWeight() {
        if (rows.size() == 0 || bias != null) {
            return null;
        }
        LoraAdapter.Factors f = factors(0);
        for (int row = 1; row < rows.size(); row++) {
            if (factors(row) != f) {
                return null;
            }
        }
        try (var ng = Autograd.noGrad()) {
            Tensor w = BaseLinear.of(child("base_layer"), path).weightTensor();
            if (f == null) {
                return w;
            }
            return LoraLinear.mergedWeight(w, f.a(), f.b(), f.scaling(), f.doraScale());
        }
    }

    /** Rows' base output plus their adapter's update, as {@link LoraLinear#forward} computes it in eval mode. */
    private Tensor update(Tensor y, Tensor x, LoraAdapter.Factors f) {
        if (f.doraScale() == null) {
            return LowRank.add(y, x, f.a(), f.b(), f.scaling());
        }
        Tensor lora = Matmul.linear(Matmul.linear(x, f.a(), null), f.b(), null);
        Tensor baseResult = bias == null ? y : Elementwise.sub(y, bias);
        return LoraLinear.doraOutput(y, baseResult, f.doraScale(), lora, f.scaling());
    }

    private LoraAdapter.Factors factors(int row) {
        LoraAdapter a = rows.get(row);
        return a == null ? null : a.factors(path);
    }
}
