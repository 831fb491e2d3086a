package dev.finetune4j.peft.adapter;

import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.peft.LayerTuner;
import dev.finetune4j.peft.LinearInit;
import dev.finetune4j.peft.ModelTree;
import dev.finetune4j.peft.PeftContext;
import dev.finetune4j.peft.PeftException;
import dev.finetune4j.peft.PeftMethod;
import dev.finetune4j.peft.TargetModules;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Bottleneck adapters' {@link PeftMethod}: places them per {@link BottleneckConfig.Placement}, Houlsby after each
 * layer's attention and MLP, Pfeiffer after the MLP only. The sublayers are found by the family's module names.
 *
 * <p>Thread safety: stateless; injection mutates the given model.
 */
public final class AdapterInjector extends PeftMethod<BottleneckConfig> {

    /** The instance {@link java.util.ServiceLoader} creates. */
    public AdapterInjector() {
        super(BottleneckConfig.PEFT_TYPE, "adapter", BottleneckConfig.class, BottleneckConfig::fromJson);
    }

    /**
     * Wraps the attention and/or MLP sublayers of every layer in a {@link BottleneckAdapter} with a fresh down
     * projection and a zero up projection, of the model's residual width C (its hidden size).
     *
     * @param ctx the model being wrapped, its scope and seed
     * @param cfg placement, reduction factor and activation
     * @return the tuner that remembers the swaps, to save, merge or unload them
     */
    @Override
    public LayerTuner inject(PeftContext ctx, BottleneckConfig cfg) {
        int width = ctx.spec().hiddenSize();
        TargetModules[] sites = sites(ctx.modelType());
        TargetModules attention = sites[0];
        TargetModules mlp = sites[1];
        boolean houlsby = cfg.placement() == BottleneckConfig.Placement.HOULSBY;
        List<String> paths = ModelTree.select(ctx.root(), p -> mlp.matches(p) || (houlsby && attention.matches(p)),
                "bottleneck adapter sites " + (houlsby ? attention + " and " : "") + mlp);
        SplittableRandom random = new SplittableRandom(ctx.seed());
        List<LayerTuner.Swap> swaps = new ArrayList<>();
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (String path : paths) {
            LayerTuner.Swap s = LayerTuner.swap(ctx.root(), path,
                    m -> new BottleneckAdapter(m, width, cfg.reductionFactor(), cfg.nonLinearity(), ctx.scope()));
            BottleneckAdapter a = (BottleneckAdapter) s.wrapper();
            Tensor down = a.down().weight();
            LinearInit.fanInUniform(down, down.dim(1), random);
            swaps.add(s);
            a.stateDict().forEach((n, t) -> {
                if (n.startsWith("adapter_")) {
                    tensors.put(LayerTuner.SAVED_PREFIX + path + "." + n, t);
                }
            });
        }
        tensors.values().forEach(t -> t.requiresGrad(ctx.trainable()));
        return new LayerTuner(swaps, tensors);
    }

    /** {attention sites, MLP sites} per model family. */
    private static TargetModules[] sites(String modelType) {
        return switch (modelType) {
            case "llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "gemma3_text", "gemma3", "phi3", "granite",
                    "olmo2", "olmo3", "smollm3", "glm", "glm4", "ernie4_5", "cohere", "cohere2", "exaone4", "seed_oss",
                    "hunyuan_v1_dense", "starcoder2", "arcee", "qwen2_moe", "qwen3_moe", "olmoe", "gpt_oss", "glm4_moe",
                    "ernie4_5_moe", "deepseek_v3", "deepseek_v2", "qwen3_vl", "qwen3_vl_moe" ->
                    new TargetModules[]{TargetModules.names("self_attn"), TargetModules.names("mlp")};
            case "mixtral", "granitemoe" ->
                    new TargetModules[]{TargetModules.names("self_attn"), TargetModules.names("block_sparse_moe")};
            case "granitemoeshared" -> new TargetModules[]{TargetModules.names("self_attn"), TargetModules.names("shared_mlp")};
            case "granitemoehybrid" ->
                    new TargetModules[]{TargetModules.names("self_attn", "mamba"), TargetModules.names("shared_mlp")};
            case "qwen3_5_text", "qwen3_5_moe_text", "qwen3_next" ->
                    new TargetModules[]{TargetModules.names("self_attn", "linear_attn"), TargetModules.names("mlp")};
            case "lfm2", "lfm2_moe" ->
                    new TargetModules[]{TargetModules.names("self_attn", "conv"), TargetModules.names("feed_forward")};
            case "gpt2" -> new TargetModules[]{TargetModules.regex(".*\\.h\\.\\d+\\.attn"), TargetModules.regex(".*\\.h\\.\\d+\\.mlp")};
            case "bert", "roberta", "xlm-roberta" -> new TargetModules[]{TargetModules.names("attention.output.dense"),
                    TargetModules.regex(".*\\.layer\\.\\d+\\.output\\.dense")};
            case "distilbert" -> new TargetModules[]{TargetModules.names("out_lin"), TargetModules.names("lin2")};
            default -> throw new PeftException("bottleneck adapters know no sublayer names for model_type '" + modelType
                    + "'; supported: llama, mistral, qwen2, qwen3, gemma, gemma2, gemma3_text, gemma3, phi3, granite, "
                    + "granitemoe, granitemoeshared, granitemoehybrid, olmo2, olmo3, smollm3, glm, glm4, ernie4_5, cohere, cohere2, "
                    + "exaone4, seed_oss, hunyuan_v1_dense, starcoder2, arcee, lfm2, lfm2_moe, "
                    + "qwen3_5_text, "
                    + "qwen3_5_moe_text, mixtral, qwen2_moe, qwen3_moe, olmoe, gpt_oss, glm4_moe, ernie4_5_moe, deepseek_v3, deepseek_v2, qwen3_next, "
                    + "qwen3_vl, gpt2, bert, roberta, xlm-roberta, distilbert");
        };
    }
}
