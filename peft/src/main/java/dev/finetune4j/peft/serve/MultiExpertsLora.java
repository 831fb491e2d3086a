package dev.finetune4j.peft.serve;

import dev.finetune4j.core.autograd.Elementwise;
import dev.finetune4j.core.models.decoder.FusedExperts;
import dev.finetune4j.core.models.decoder.StackedExperts;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.peft.lora.ExpertsLora;

/**
 * Stacked experts (gpt-oss's, Mistral 4's, Gemma 4's, Qwen3-VL-MoE's {@link FusedExperts}) shared by the rows of a
 * batch that use different LoRA adapters on them (PEFT's {@code target_parameters}): each expert's base product runs
 * once over all its tokens, then the tokens of each run of rows with the same adapter get that adapter's update of
 * the expert, as {@link ExpertsLora#project} computes it. An adapter's factors are keyed by this module's path and
 * the parameter's name ({@code model.layers.0.mlp.experts.down_proj}); tokens of the base model, or of an adapter
 * that leaves that parameter alone, keep the base product.
 *
 * <p>x: (N, in) -> (N, out), N the expert's tokens ({@link AdapterRows#update}). Thread safety: see
 * {@link AdapterRows}; forward only, no gradients.
 */
final class MultiExpertsLora extends Module implements StackedExperts {
    private final String path;
    private final AdapterRows rows;
    private final int experts;

    /**
     * @param baseExperts the frozen experts, a {@link StackedExperts} module
     * @param path        their dotted path in the model
     * @param rows        the adapters of the rows being computed
     */
    MultiExpertsLora(Module baseExperts, String path, AdapterRows rows) {
        this.path = path;
        this.rows = rows;
        registerChild("base_layer", baseExperts);
        this.experts = experts().parameter(FusedExperts.GATE_UP).dim(0);
    }

    @Override
    public Tensor project(int expert, String parameter, Tensor x) {
        Tensor y = ((StackedExperts) child("base_layer")).project(expert, parameter, x);
        return rows.update(y, x, key(path, parameter), (ySlice, xSlice, f) -> Elementwise.add(ySlice,
                ExpertsLora.expertUpdate(xSlice, f.a(), f.b(), expert, experts, f.scaling())));
    }

    @Override
    public FusedExperts experts() {
        return ((StackedExperts) child("base_layer")).experts();
    }

    /** The key of an adapter's factors for the stacked {@code parameter} of the experts at {@code path}. */
    static String key(String path, String parameter) {
        return path + "." + parameter;
    }
}
