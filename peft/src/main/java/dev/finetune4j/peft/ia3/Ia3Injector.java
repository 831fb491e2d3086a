package dev.finetune4j.peft.ia3;

import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.nn.StateDicts;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.peft.BaseLinear;
import dev.finetune4j.peft.LayerTuner;
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
 * IA3's {@link PeftMethod}: puts an {@link Ia3Linear} around every targeted module; feed-forward targets rescale
 * their input.
 *
 * <p>Thread safety: stateless; injection mutates the given model.
 */
public final class Ia3Injector extends PeftMethod<Ia3Config> {

    /** The instance {@link java.util.ServiceLoader} creates. */
    public Ia3Injector() {
        super(Ia3Config.PEFT_TYPE, "ia3", Ia3Config.class, (json, where) -> Ia3Config.fromJson(json));
    }

    /** PEFT's SEQ_CLS default: the heads train and save with the adapter unless modules to save are given. */
    @Override
    public Ia3Config forClassifier(Ia3Config c, List<String> heads) {
        return c.modulesToSave() != null ? c
                : new Ia3Config(c.targetModules(), c.feedforwardModules(), c.fanInFanOut(), c.initIa3Weights(), heads, "SEQ_CLS");
    }

    /**
     * Injects IA3 vectors of ones ({@code init_ia3_weights}) or N(0, 1) draws.
     *
     * @param ctx the model being wrapped, its scope and seed
     * @param cfg the target and feed-forward modules
     * @return the tuner that remembers the swaps, to save, merge or unload them
     */
    @Override
    public LayerTuner inject(PeftContext ctx, Ia3Config cfg) {
        Module root = ctx.root();
        TargetModules targets = cfg.targetModules() == null ? defaults(ctx.modelType())[0] : cfg.targetModules();
        TargetModules feedforward = cfg.feedforwardModules() == null ? defaults(ctx.modelType())[1] : cfg.feedforwardModules();
        TargetModules save = cfg.modulesToSave() == null ? null : TargetModules.names(cfg.modulesToSave().toArray(String[]::new));
        List<String> paths = ModelTree.select(root, p -> targets.matches(p) && (save == null || !save.matches(p)),
                "target_modules " + targets);
        SplittableRandom random = new SplittableRandom(ctx.seed());
        List<LayerTuner.Swap> swaps = new ArrayList<>();
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (String path : paths) {
            LayerTuner.Swap s = LayerTuner.swap(root, path,
                    m -> new Ia3Linear(m, BaseLinear.of(m, path), feedforward.matches(path), ctx.scope()));
            Tensor l = ((Ia3Linear) s.wrapper()).scales();
            StateDicts.fill(l, () -> cfg.initIa3Weights() ? 1 : StateDicts.gaussian(random));
            swaps.add(s);
            tensors.put(LayerTuner.SAVED_PREFIX + path + ".ia3_l", l);
        }
        for (LayerTuner.Swap s : ModulesToSave.wrapAll(ctx, cfg.modulesToSave(), swaps)) {
            swaps.add(s);
            tensors.putAll(((ModulesToSave) s.wrapper()).savedTensors(LayerTuner.SAVED_PREFIX + s.path()));
        }
        tensors.values().forEach(t -> t.requiresGrad(ctx.trainable()));
        return new LayerTuner(swaps, tensors);
    }

    /**
     * {@code cfg} with PEFT's per-model defaults filled in where it leaves the modules out (what gets saved).
     *
     * @param cfg the configuration as given
     * @param modelType the base model's {@code model_type}
     * @return the configuration with target and feed-forward modules filled in
     */
    @Override
    public Ia3Config withDefaults(Ia3Config cfg, String modelType) {
        if (cfg.targetModules() != null) {
            return cfg;
        }
        TargetModules[] d = defaults(modelType);
        return new Ia3Config(d[0], d[1], cfg.fanInFanOut(), cfg.initIa3Weights(), cfg.modulesToSave(), cfg.taskType());
    }

    /**
     * PEFT's default {target_modules, feedforward_modules} per model type. PEFT has none for XLM-RoBERTa (RoBERTa's here)
     * or DistilBERT (BERT's modules under DistilBERT's names: k_lin, v_lin, and out_lin and lin2 as feed-forward
     * modules); they are written out in the saved config.
     */
    private static TargetModules[] defaults(String modelType) {
        return switch (modelType) {
            case "llama", "mistral" -> new TargetModules[]{
                    TargetModules.names("k_proj", "v_proj", "down_proj"), TargetModules.names("down_proj")};
            case "gemma", "gemma2", "gemma3_text", "qwen2", "qwen3" -> new TargetModules[]{
                    TargetModules.names("q_proj", "v_proj", "down_proj"), TargetModules.names("down_proj")};
            case "gpt2" -> new TargetModules[]{TargetModules.names("c_attn", "mlp.c_proj"), TargetModules.names("mlp.c_proj")};
            // output.dense names both the attention's output and the MLP's second projection
            case "bert", "roberta", "xlm-roberta" -> new TargetModules[]{TargetModules.names("key", "value", "output.dense"),
                    TargetModules.names("output.dense")};
            case "distilbert" -> new TargetModules[]{TargetModules.names("k_lin", "v_lin", "out_lin", "lin2"),
                    TargetModules.names("out_lin", "lin2")};
            default -> throw new PeftException("no default IA3 target_modules for model_type '" + modelType
                    + "': set target_modules and feedforward_modules explicitly");
        };
    }
}
