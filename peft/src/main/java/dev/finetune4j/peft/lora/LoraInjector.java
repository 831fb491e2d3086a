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
import dev.finetune4j.peft.PeftFamilies;
import dev.finetune4j.peft.PeftMethod;
import dev.finetune4j.peft.TargetModules;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
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

    /** Widens {@code exclude_modules} to the modules the base model leaves out ({@link TargetModules#excludingUnder}). */
    @Override
    public LoraConfig excludingModulesLeftOut(LoraConfig config, List<String> leftOut) {
        return config.toBuilder().excludeModules(TargetModules.excludingUnder(config.excludeModules(), leftOut)).build();
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
        requireLoadableByPeft(ctx.modelType(), targets);
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

    /**
     * Refuses what PEFT 0.21 refuses to load: LoRA on the modules its family's row refuses
     * ({@link PeftFamilies.Family#loraRefused}: a Mamba-based model's {@code out_proj} and {@code conv1d}, whose fused
     * kernels read those weights directly and so would skip the adapter).
     */
    private static void requireLoadableByPeft(String modelType, List<String> targets) {
        Set<String> refused = PeftFamilies.of(modelType).map(PeftFamilies.Family::loraRefused).orElse(Set.of());
        for (String path : targets) {
            String name = path.substring(path.lastIndexOf('.') + 1);
            if (refused.contains(name)) {
                throw new PeftException("LoRA on '" + path + "' of a " + modelType + " model would not load in PEFT, "
                        + "which refuses " + String.join(" and ", refused.stream().sorted().toList()) + " in Mamba-based "
                        + "models (its fused kernels read their weights directly): leave them out of target_modules, "
                        + "e.g. in_proj and the attention's q_proj, v_proj");
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

    /** PEFT's default LoRA targets of the base model's family ({@link PeftFamilies}). */
    private static TargetModules defaultTargets(String modelType) {
        return PeftFamilies.of(modelType).map(PeftFamilies.Family::loraTargets).orElseThrow(() -> new PeftException(
                "no default target_modules for model_type '" + modelType + "': set target_modules explicitly"));
    }
}
