package dev.finetune4j.peft.lora;

import dev.finetune4j.core.models.decoder.SparseMoeBlock;
import dev.finetune4j.core.models.decoder.StackedMatrices;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.nn.StateDicts;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.peft.BaseLinear;
import dev.finetune4j.peft.LayerTuner;
import dev.finetune4j.peft.LinearInit;
import dev.finetune4j.peft.ModelTree;
import dev.finetune4j.peft.ModulesToSave;
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
 * LoRA's {@link PeftMethod} ({@code peft_type} LORA, with DoRA and rsLoRA as options): puts a {@link LoraLinear}
 * around every module a {@link LoraConfig} targets, wraps its modules to save, and names the adapter's tensors
 * as PEFT saves them.
 *
 * <p>Thread safety: stateless; injection mutates the given model and must not race with its use.
 */
public final class LoraInjector extends PeftMethod<LoraConfig> {

    /** The instance {@link java.util.ServiceLoader} creates. */
    public LoraInjector() {
        super(LoraConfig.PEFT_TYPE, "lora", LoraConfig.class, LoraConfig::fromJson);
    }

    /** PEFT's per-model default target modules written in when the config names neither modules nor parameters. */
    @Override
    public LoraConfig withDefaults(LoraConfig config, String modelType) {
        return config.targetModules() != null || config.targetParameters() != null ? config
                : config.toBuilder().targetModules(defaultTargets(modelType)).build();
    }

    /** PEFT's SEQ_CLS default: the heads train and save with the adapter unless modules to save are given. */
    @Override
    public LoraConfig forClassifier(LoraConfig config, List<String> heads) {
        return config.modulesToSave() != null ? config
                : config.toBuilder().modulesToSave(heads.toArray(String[]::new)).taskType("SEQ_CLS").build();
    }

    /**
     * Injects a fresh adapter initialised per {@link LoraConfig#initLoraWeights()} from {@code ctx.seed()}.
     *
     * @param ctx the model being wrapped, its scope and seed
     * @param cfg rank, alpha, dropout, targets and initialisation
     * @return the tuner that remembers the swaps, to save, merge or unload them
     */
    @Override
    public LayerTuner inject(PeftContext ctx, LoraConfig cfg) {
        Module root = ctx.root();
        // NOTE: target_parameters alone adapt no module: the family's default targets are for configs naming neither
        boolean modules = cfg.targetModules() != null || cfg.targetParameters() == null;
        TargetModules defaults = cfg.targetModules() == null ? defaultTargets(ctx.modelType()) : null;
        // NOTE: Granite's stacked experts (block_sparse_moe.input_linear) share their names with linear layers, and its
        // router is one (router.layer); PEFT, over transformers' tree, meets the experts as experts.gate_up_proj, which
        // only target_parameters name, and the router as a bare weight: neither is a module it adapts
        Map<String, Module> tree = root.namedModules();
        List<String> targets = modules ? ModelTree.select(root, p -> cfg.targets(p, defaults)
                && !(tree.get(p) instanceof StackedMatrices) && !SparseMoeBlock.isGraniteRouter(p),
                "target_modules " + describe(cfg)) : List.of();
        requireSensibleRanks(root, targets, cfg);
        List<ExpertParameters.Target> parameters = ExpertParameters.select(root, cfg);
        SplittableRandom init = new SplittableRandom(ctx.seed());
        List<LayerTuner.Swap> swaps = new ArrayList<>();
        for (String path : targets) {
            swaps.add(LayerTuner.swap(root, path, original -> {
                LoraLinear l = new LoraLinear(original, BaseLinear.of(original, path), cfg.rankFor(path), cfg.scalingFor(path),
                        cfg.loraDropout(), LoraVariant.of(cfg), ctx.scope(), ctx.dropoutRandom());
                initialise(l, cfg.initLoraWeights(), init);
                return l;
            }));
        }
        swaps.addAll(ExpertParameters.wrap(ctx, cfg, parameters, init));
        swaps.addAll(ModulesToSave.wrapAll(ctx, cfg.modulesToSave(), swaps));
        Map<String, Tensor> tensors = savedTensors(root, cfg.bias());
        tensors.values().forEach(t -> t.requiresGrad(ctx.trainable()));
        return new LayerTuner(swaps, tensors);
    }

    /**
     * Refuses, before anything is allocated or swapped, a rank above a target's larger dimension: it adds nothing
     * over that dimension and a hostile {@code r} (2^31 - 1) would ask for terabytes.
     */
    private static void requireSensibleRanks(Module root, List<String> targets, LoraConfig cfg) {
        Map<String, Module> modules = root.namedModules();
        for (String path : targets) {
            BaseLinear linear = BaseLinear.of(modules.get(path), path);
            int limit = Math.max(linear.inFeatures(), linear.outFeatures());
            if (cfg.rankFor(path) > limit) {
                throw new PeftException("r = " + cfg.rankFor(path) + " for '" + path + "' exceeds the layer's larger "
                        + "dimension " + limit + " (in " + linear.inFeatures() + ", out " + linear.outFeatures()
                        + "); a LoRA rank is at most that, typically 8 to 64");
            }
        }
    }

    /** The adapter's tensors in tree order under PEFT's saved names. */
    private static Map<String, Tensor> savedTensors(Module root, LoraBias bias) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        root.stateDict().forEach((name, t) -> {
            if (name.contains(".original_module.")) {
                return;
            }
            boolean adapter = name.contains(".lora_A.") || name.contains(".lora_B.") || name.endsWith(".lora_magnitude_vector");
            boolean saved = name.contains(".modules_to_save.");
            boolean biasSaved = switch (bias) {
                case NONE -> false;
                case ALL -> name.endsWith(".bias");
                case LORA_ONLY -> name.endsWith(".base_layer.bias");
            };
            if (adapter || saved || biasSaved) {
                out.put(LayerTuner.SAVED_PREFIX + name.replace(".modules_to_save.", "."), t);
            }
        });
        return out;
    }

    private static void initialise(LoraLinear l, LoraInit init, SplittableRandom random) {
        initialise(l.loraA(), l.loraB(), l.loraA().dim(0), init, random);
        l.initialiseVariant();
    }

    /**
     * A and B as PEFT initialises them: A uniform in +-1/sqrt(in) (kaiming_uniform with a = sqrt(5)), or N(0, 1/r)
     * for GAUSSIAN; B zero, or uniform too for RANDOM.
     *
     * @param a the A weight
     * @param b the B weight
     * @param rank r
     * @param init the initialisation
     * @param random the draws
     */
    static void initialise(Tensor a, Tensor b, int rank, LoraInit init, SplittableRandom random) {
        switch (init) {
            case DEFAULT, RANDOM -> LinearInit.fanInUniform(a, a.dim(1), random);
            case GAUSSIAN -> {
                StateDicts.fill(a, () -> StateDicts.gaussian(random) / rank);
            }
        }
        if (init == LoraInit.RANDOM) {
            LinearInit.fanInUniform(b, b.dim(1), random);
        }
    }

    private static String describe(LoraConfig cfg) {
        return cfg.targetModules() == null ? "(model default)" : cfg.targetModules().toString()
                + (cfg.layersToTransform() == null ? "" : " with layers_to_transform " + cfg.layersToTransform());
    }

    /**
     * PEFT's default target modules per model_type when a config leaves them out. PEFT has none for Gemma 3's
     * vision-language model (gemma3), where the names q_proj and v_proj would also match its vision tower's: its
     * default here is the text model's, spelled as a regex over the language model's paths, so that PEFT reading the
     * saved adapter_config.json targets exactly the modules trained here. PEFT has none for Qwen3-VL (qwen3_vl) either,
     * whose vision tower names its projections qkv, proj and linear_fc1/2: q_proj and v_proj, written out in the saved
     * config, find the language model's alone. PEFT has none either for Phi-3, Granite 3 (its mixtures too) and 4, OLMo
     * 2 and 3, OLMoE, SmolLM3, GLM, GLM-4, ERNIE 4.5, Cohere, EXAONE 4, Seed-OSS, Hunyuan, StarCoder2, Arcee, gpt-oss,
     * GLM-4.5 and ERNIE-4.5-MoE: theirs here are LLaMA's (Phi-3's fused projections all four), written out in the saved
     * config, so PEFT needs no default to read them. Qwen3.5's language models adapt q_proj and v_proj in its
     * full-attention layers and in_proj_qkv (queries, keys and values at once) in its linear-attention layers, so that
     * every layer has an adapter (Qwen3-Next: in_proj_qkvz, which also makes the output gate); Granite 4's adapt q_proj
     * and v_proj in its attention layers and in_proj (the gate, the convolution's inputs and the time steps) in the
     * Mamba-2 layers of its H models; LFM2's and LFM2-MoE's q_proj and v_proj in their attention layers and in_proj
     * (the convolution's gates and input) in their convolution layers. DeepSeek-V2's and V3's latent attention has no
     * v_proj: its queries' last projection ({@code q_b_proj}, or {@code q_proj} without a query bottleneck) and {@code
     * kv_b_proj}, which expands the latent into keys and values. PEFT has none for DistilBERT either: its query and
     * value projections, q_lin and v_lin, as PEFT's BERT, RoBERTa and XLM-RoBERTa default, written out in the saved config.
     */
    private static TargetModules defaultTargets(String modelType) {
        return switch (modelType) {
            case "llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "gemma3_text", "granite", "granitemoe",
                    "granitemoeshared", "olmo2", "olmo3", "smollm3", "glm", "glm4", "ernie4_5", "cohere", "cohere2", "exaone4",
                    "seed_oss", "hunyuan_v1_dense", "starcoder2", "arcee", "mixtral", "qwen2_moe", "qwen3_moe", "olmoe",
                    "gpt_oss", "glm4_moe", "ernie4_5_moe", "qwen3_vl", "qwen3_vl_moe" -> TargetModules.names("q_proj", "v_proj");
            case "granitemoehybrid", "lfm2", "lfm2_moe" -> TargetModules.names("q_proj", "v_proj", "in_proj");
            case "qwen3_5_text", "qwen3_5_moe_text" -> TargetModules.names("q_proj", "v_proj", "in_proj_qkv");
            case "qwen3_next" -> TargetModules.names("q_proj", "v_proj", "in_proj_qkvz");
            case "deepseek_v3", "deepseek_v2" -> TargetModules.names("q_proj", "q_b_proj", "kv_b_proj");
            case "gemma3" -> TargetModules.regex("model\\.language_model\\.layers\\.\\d+\\.self_attn\\.(q_proj|v_proj)");
            case "phi3" -> TargetModules.names("qkv_proj", "o_proj", "gate_up_proj", "down_proj");
            case "gpt2" -> TargetModules.names("c_attn");
            case "bert", "roberta", "xlm-roberta" -> TargetModules.names("query", "value");
            case "distilbert" -> TargetModules.names("q_lin", "v_lin");
            default -> throw new PeftException("no default target_modules for model_type '" + modelType
                    + "': set target_modules explicitly");
        };
    }
}
